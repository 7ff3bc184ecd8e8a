#!/usr/bin/env bash
# The equal-budget traversal comparison of docs/reproduction.md: DNC (feed-forward controller,
# content-lookup masking), NTM (feed-forward) and LSTM, 60 minutes each, side by side, one
# thread each, the same options. Output: runs/trav60-{dnc,ntm,lstm}/ and their logs.
#
#   bash scripts/traversal_60min.sh
set -u
cd "$(dirname "$0")/.."
mkdir -p runs
COMMON=(--task traversal --minutes 60 --lr 1e-3 --batch-size 8 --hidden-size 128 --num-cells 16
        --cell-width 64 --num-reads 3 --fit-cells --warmup 2 --eval-every 100 --eval-episodes 128
        --final-eval-episodes 100 --threads 1 --no-progress --log-every 50 --checkpoint-every 500
        --no-deterministic --json)
export OMP_NUM_THREADS=1
dncqa train --model dnc --controller feedforward --masking "${COMMON[@]}" --out runs/trav60-dnc \
  > runs/trav60-dnc.log 2>&1 &
dncqa train --model ntm --controller feedforward "${COMMON[@]}" --out runs/trav60-ntm \
  > runs/trav60-ntm.log 2>&1 &
dncqa train --model lstm "${COMMON[@]}" --out runs/trav60-lstm > runs/trav60-lstm.log 2>&1 &
wait
