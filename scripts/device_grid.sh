#!/usr/bin/env bash
# A one-shot grid of traversal diagnosis runs (scripts/diag_traversal.py), one CPU thread each,
# all in parallel on a many-core host (16 cores were used): which recipe makes
# the DNC's destination lookup learn fastest. Logs land in $OUT/grid/NAME.log.
#
#   OUT=/some/dir SECS=400 bash scripts/device_grid.sh
set -u
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD" OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
S=${SECS:-400}
D="${OUT:-runs}/grid"
mkdir -p "$D"
run() {  # run NAME ENV... -- ARGS...
  local name=$1; shift
  local envs=()
  while [ "$1" != "--" ]; do envs+=("$1"); shift; done
  shift
  env "${envs[@]}" python scripts/diag_traversal.py "$S" "$@" > "$D/$name.log" 2>&1 &
}
B="1e-3 8 128 16 64 2 adam -1"
run base          X=1 -- $B
run mask          DIAG_MASKING=1 -- $B
run mds           DIAG_MASKING=1 DIAG_DEALLOC=1 DIAG_SHARPNESS=1 -- $B
run ff            DIAG_CONTROLLER=feedforward -- $B
run ff_mask       DIAG_CONTROLLER=feedforward DIAG_MASKING=1 -- $B
run small_mask    DIAG_MASKING=1 -- 3e-3 8 64 16 32 4 adam -1
run lr3           X=1 -- 3e-3 8 128 16 64 2 adam -1
run mask_lr3      DIAG_MASKING=1 -- 3e-3 8 128 16 64 2 adam -1
run mask_b32      DIAG_MASKING=1 -- 3e-3 32 128 16 64 2 adam -1
run mask_h256     DIAG_MASKING=1 -- 1e-3 8 256 16 64 2 adam -1
run mask_bias     DIAG_MASKING=1 DIAG_WRITE_BIAS=3 DIAG_CONTENT_BIAS=3 -- $B
run mask_rms      DIAG_MASKING=1 -- 1e-4 8 128 16 64 2 rmsprop -1
run l0_mask       DIAG_MASKING=1 -- 1e-3 8 128 48 64 2 adam 0
run l0_ff_mask    DIAG_CONTROLLER=feedforward DIAG_MASKING=1 -- 1e-3 8 128 48 64 2 adam 0
run mask_2layer   DIAG_MASKING=1 DIAG_LAYERS=2 -- $B
wait
for f in "$D"/*.log; do echo "$(basename "$f" .log): $(tail -n 1 "$f")"; done | tee "$D/summary.txt"
