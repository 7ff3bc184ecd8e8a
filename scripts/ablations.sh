#!/usr/bin/env bash
# The paper's ablation rows for the graph tasks (results/ablations/): the NTM and the LSTM
# trained with the recipe the search chose for the DNC (same task options, optimiser,
# learning rate, batch size and width where the model has them), for the optimiser steps
# the DNC's long run had taken after 15 (shortest path) and 10 (inference) minutes, so the
# rows compare equal numbers of episodes; the two models of a pair side by side, one thread
# each. Continue a run with the same command plus --resume (and a larger --steps).
#   bash scripts/ablations.sh [SP_STEPS] [INFERENCE_STEPS]
set -euo pipefail
sp_steps=${1:-2000}
inf_steps=${2:-8000}
out=${OUT:-results/ablations}
common=(--threads 1 --no-progress --json --checkpoint-every 500 --fit-cells
        --final-eval-episodes 200)
sp=(--task shortest_path --warmup 1 --planning-steps 10 --beta 0.87 --lr 6e-4 --batch-size 32)
inf=(--task inference --planning-steps 10 --planning-per-edge 1 --lr 2.7e-3 --batch-size 8)
ntm_sp=(--model ntm --controller feedforward --hidden-size 128 --cell-width 64 --num-reads 2)
ntm_inf=(--model ntm --controller lstm --hidden-size 128 --cell-width 64 --num-reads 4)
lstm=(--model lstm --hidden-size 256)

run() {  # run NAME STEPS ARGS...
  local name=$1 steps=$2; shift 2
  local resume=()
  [[ -d "$out/$name/checkpoints" ]] && resume=(--resume)
  dncqa train "${common[@]}" "$@" --steps "$steps" --out "$out/$name" "${resume[@]}" \
    > "$out/$name.json"
}

mkdir -p "$out"
run shortest_path-ntm "$sp_steps" "${sp[@]}" "${ntm_sp[@]}" &
run shortest_path-lstm "$sp_steps" "${sp[@]}" "${lstm[@]}" &
wait
run inference-ntm "$inf_steps" "${inf[@]}" "${ntm_inf[@]}" &
run inference-lstm "$inf_steps" "${inf[@]}" "${lstm[@]}" &
wait
