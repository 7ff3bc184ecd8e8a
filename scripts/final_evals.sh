#!/usr/bin/env bash
# Held-out numbers of the kept long runs: every paper lesson they reached (and one past it),
# 500 fresh episodes each (the network's own moves), split by length beside the rules that
# need no memory. Writes results/evals/<run>-lesson-<N>.json; about 5 minutes on 2 cores.
#
#   bash scripts/final_evals.sh [EPISODES]
set -euo pipefail
cd "$(dirname "$0")/.."
EPISODES="${1:-500}"
mkdir -p results/evals
run_evals() {  # run, first lesson, last lesson
  for lesson in $(seq "$2" "$3"); do
    OMP_NUM_THREADS=1 python3 -m dnc_qa eval "results/$1" --lesson "$lesson" \
      --episodes "$EPISODES" --seed 4242 --json > "results/evals/$1-lesson-$lesson.json"
    python3 - "results/evals/$1-lesson-$lesson.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
rows = ", ".join(f"{x['length']}: {100 * x['accuracy']:.0f}%" for x in r["by_length"])
rule = "" if r["best_rule"] is None else f" | best rule {r['best_rule']} {100 * r['best_rule_accuracy']:.0f}%"
print(f"{sys.argv[1]}: {100 * r['answer_accuracy']:.1f}% of {r['answers']} {r['unit']}s ({rows}){rule}")
PY
  done
}
[ -d results/traversal-dnc ] && run_evals traversal-dnc 1 6
[ -d results/shortest-path-dnc ] && run_evals shortest-path-dnc 1 5
[ -d results/inference-dnc ] && run_evals inference-dnc 1 3
exit 0
