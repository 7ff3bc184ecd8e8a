#!/usr/bin/env bash
# Held-out numbers of a shortest-path checkpoint on the paper's random graphs: lessons 1-5
# (or LESSONS), fresh episodes (default 500, seed 4242), the network's own moves, split by
# distance beside the rules that need no memory. Writes results/evals/<name>-lesson-*.json
# (name: the checkpoint folder's, with the seed when it is not 4242); about a minute per
# lesson on one core.
#
#   bash scripts/sp_paper_evals.sh [RUN] [EPISODES] [SEED] [LESSONS]
set -euo pipefail
cd "$(dirname "$0")/.."
RUN="${1:-results/shortest-path-paper-5500}"
EPISODES="${2:-500}"
SEED="${3:-4242}"
LESSONS="${4:-1 2 3 4 5}"
NAME="$(basename "$RUN")"
[ "$SEED" = 4242 ] || NAME="$NAME-seed$SEED"
mkdir -p results/evals
for lesson in $LESSONS; do
  out="results/evals/$NAME-lesson-$lesson.json"
  OMP_NUM_THREADS=1 python3 -m dnc_qa eval "$RUN" --graphs random --lesson "$lesson" \
    --episodes "$EPISODES" --seed "$SEED" --json > "$out"
  python3 - "$out" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
rows = ", ".join(f"{x['length']}: {100 * x['accuracy']:.0f}%" for x in r["by_length"])
print(f"{sys.argv[1]}: step {r['step']}, {100 * r['answer_accuracy']:.1f}% of {r['answers']} "
      f"paths ({rows}) | best rule {r['best_rule']} {100 * r['best_rule_accuracy']:.0f}%")
PY
done
