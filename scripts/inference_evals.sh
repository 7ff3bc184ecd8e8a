#!/usr/bin/env bash
# Held-out numbers of an inference run (default results/inference-hints): the paper's first
# lessons, 500 fresh episodes each (3 queries per episode), whole episodes and per query,
# split by relation length beside the rule that needs no memory (a random reachable node).
# Writes results/evals/inference-hints-lesson-*.json; a few minutes on one core.
#
#   bash scripts/inference_evals.sh [RUN] [EPISODES] [LESSONS]
set -euo pipefail
cd "$(dirname "$0")/.."
RUN="${1:-results/inference-hints}"
EPISODES="${2:-500}"
LESSONS="${3:-1 2 3 4 5 6}"
NAME="$(basename "$RUN")"
mkdir -p results/evals
for lesson in $LESSONS; do
  out="results/evals/$NAME-lesson-$lesson.json"
  OMP_NUM_THREADS=1 python3 -m dnc_qa eval "$RUN" --lesson "$lesson" --episodes "$EPISODES" \
    --seed 4242 --json > "$out"
  python3 - "$out" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
rows = ", ".join(f"length {x['length']}: {100 * x['accuracy']:.1f}%" for x in r["by_length"])
print(f"{sys.argv[1]}: step {r['step']}, whole episodes {100 * r['accuracy']:.1f}%, "
      f"per query {100 * r['answer_accuracy']:.1f}% ({rows}) | {r['best_rule']} "
      f"{100 * r['best_rule_accuracy']:.0f}%")
PY
done
