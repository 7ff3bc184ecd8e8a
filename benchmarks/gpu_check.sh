#!/usr/bin/env bash
# One short GPU check (about 7 minutes on an H100/H200): the CUDA tests, the speed harness
# on a CUDA-sized subset and the graph recipes' training throughput, captured and eager. Results go under $OUT (default benchmarks/results/gpu).
#
#   OUT=/some/dir bash benchmarks/gpu_check.sh
#
# Every stage has its own timeout so the whole script stays under 9 minutes; a failing stage
# is recorded in $OUT/status.txt and the next one still runs.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-benchmarks/results/gpu}
mkdir -p "$OUT"
: > "$OUT/status.txt"
stage() {  # stage NAME SECONDS CMD...
  local name=$1 limit=$2
  shift 2
  local start=$SECONDS
  timeout "$limit" "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  echo "$name rc=$rc seconds=$((SECONDS - start))" | tee -a "$OUT/status.txt"
  tail -n 25 "$OUT/$name.log"
}
(nvidia-smi; python -c "import torch; print(torch.__version__, torch.cuda.is_available())") \
  > "$OUT/device.txt" 2>&1
# CPU and CUDA variants of every memory/model test (the conftest adds CUDA when present).
stage tests 170 python -m pytest -q -x -p no:cacheprovider tests/memory tests/models \
  tests/train/test_captured.py
# The harness on CUDA: reference config, N=512 and N=2048 at T=64; 5 timed rounds after one
# warm-up round; peak memory from torch.cuda.max_memory_allocated.
stage speed 150 python -m benchmarks.speed --device cuda --configs ref,N512,N2048 \
  --reps 5 --warmup 1 --out "$OUT/speed"
stage profile 30 python -m benchmarks.profile --device cuda --cells 512 --steps 64 --top 20
# dncqa train's step captured as CUDA graphs against eager CUDA and one CPU thread (50 steps
# of the traversal and inference recipes at their final lessons).
stage train 150 python -m benchmarks.train_throughput --tasks traversal,inference \
  --modes 1t,cuda,cuda-eager --steps 50 --eval-every 50 --out "$OUT/train"
echo "done; results in $OUT"
