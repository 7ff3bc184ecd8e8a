#!/usr/bin/env bash
# The paper's own architecture, a DNC with an LSTM controller, on traversal
# (results/lstm-controller/): the same network and step budget three ways, one thread each.
#   fresh         the LSTM controller from random weights (the paper's setup)
#   ff-interface  its memory interface and output layer copied from the feed-forward model
#                 once shipped as traversal-dnc, kept in results/traversal-dnc-feedforward
#                 (--init-from ... --init-partial); the LSTM controller starts fresh
#   small-state   a controller of 32 units instead of 128 (less room to keep triples in the
#                 controller's state instead of memory)
# Held-out splits afterwards: dncqa eval results/lstm-controller/NAME --lesson N --episodes 500
set -euo pipefail
steps=${1:-4000}
out=${OUT:-results/lstm-controller}
common=(--task traversal --model dnc --controller lstm --num-cells 16 --cell-width 64
        --num-reads 3 --masking --fit-cells --warmup 2 --lr 1e-3 --batch-size 8
        --steps "$steps" --eval-every 200 --eval-episodes 128 --final-eval-episodes 500
        --threads 1 --no-progress --json)
mkdir -p "$out"
dncqa train "${common[@]}" --hidden-size 128 --out "$out/fresh" > "$out/fresh.json" &
dncqa train "${common[@]}" --hidden-size 128 --init-from results/traversal-dnc-feedforward --init-partial \
  --out "$out/ff-interface" > "$out/ff-interface.json" &
dncqa train "${common[@]}" --hidden-size 32 --out "$out/small-state" > "$out/small-state.json" &
wait
