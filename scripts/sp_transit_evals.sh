#!/usr/bin/env bash
# Held-out numbers of a shortest-path run on transit maps (default results/shortest-path-transit):
# every transit-map lesson, the paper's first five lessons (random graphs) for comparison, and
# the model's answers through `dncqa ask` on maps it never saw (benchmarks/app_paths.py).
# 500 fresh episodes per lesson, the network's own moves, split by distance beside the rules
# that need no memory. Writes results/evals/sp-transit-*.json and
# benchmarks/results/app-paths/app_paths.json; about 10 minutes on one core.
#
#   bash scripts/sp_transit_evals.sh [RUN] [EPISODES]
set -euo pipefail
cd "$(dirname "$0")/.."
RUN="${1:-results/shortest-path-transit}"
EPISODES="${2:-500}"
mkdir -p results/evals
summary() {
  python3 - "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
rows = ", ".join(f"{x['length']}: {100 * x['accuracy']:.0f}%" for x in r["by_length"])
rule = f" | best rule {r['best_rule']} {100 * r['best_rule_accuracy']:.0f}%"
print(f"{sys.argv[1]}: {100 * r['answer_accuracy']:.1f}% of {r['answers']} paths ({rows}){rule}")
PY
}
for lesson in 1 2 3 4 5 6 7; do
  out="results/evals/sp-transit-lesson-$lesson.json"
  OMP_NUM_THREADS=1 python3 -m dnc_qa eval "$RUN" --lesson "$lesson" --episodes "$EPISODES" \
    --seed 4242 --json > "$out"
  summary "$out"
done
for lesson in 1 2 3 4 5; do
  out="results/evals/sp-transit-on-paper-lesson-$lesson.json"
  OMP_NUM_THREADS=1 python3 -m dnc_qa eval "$RUN" --graphs random --lesson "$lesson" \
    --episodes "$EPISODES" --seed 4242 --json > "$out"
  summary "$out"
done

# the shipped models, as `dncqa ask` uses them (ship the run first: docs/reproduction.md),
# with greedy decoding and with dncqa ask's beam
OMP_NUM_THREADS=1 python3 -m benchmarks.app_paths --maps 12 \
  --out benchmarks/results/app-paths
OMP_NUM_THREADS=1 python3 -m benchmarks.app_paths --maps 12 --beam 1 \
  --out benchmarks/results/app-paths-greedy
