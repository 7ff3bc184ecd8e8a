#!/usr/bin/env bash
# The committed bAbI runs (results/babi/): single-task runs of tasks 1, 2, 3, 15, 16, 19 and a
# joint run on all 20 tasks, each for the DNC and the LSTM baseline on the same wall-clock
# budget, the two models of a pair side by side (one thread each, so they share the machine
# equally). Continue any run with the same command plus --resume (and a new --minutes).
#   DNCQA_BABI=path/to/babi bash scripts/babi_runs.sh [SINGLE_MINUTES] [JOINT_MINUTES]
set -euo pipefail
single=${1:-6}
joint=${2:-25}
out=${OUT:-results/babi}
dnc=(--model dnc --controller feedforward --masking --hidden-size 128 --num-cells 64
     --cell-width 32 --num-reads 2 --lr 3e-3 --batch-size 16)
lstm=(--model lstm --hidden-size 256 --lr 3e-3 --batch-size 16)
common=(--task babi --threads 1 --no-progress --json --checkpoint-every 200)

pair() {  # pair NAME MINUTES TASK_ARGS...
  local name=$1 minutes=$2; shift 2
  local resume=()
  [[ -d "$out/dnc-$name/checkpoints" ]] && resume=(--resume)
  dncqa train "${common[@]}" "${dnc[@]}" "$@" --minutes "$minutes" --out "$out/dnc-$name" \
    "${resume[@]}" > "$out/dnc-$name.json" &
  resume=()
  [[ -d "$out/lstm-$name/checkpoints" ]] && resume=(--resume)
  dncqa train "${common[@]}" "${lstm[@]}" "$@" --minutes "$minutes" --out "$out/lstm-$name" \
    "${resume[@]}" > "$out/lstm-$name.json" &
  wait
}

mkdir -p "$out"
for task in ${TASKS:-1 2 3 15 16 19}; do
  pair "task$task" "$single" --babi-task "$task"
done
pair joint "$joint"
