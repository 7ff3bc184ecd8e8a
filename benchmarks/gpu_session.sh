#!/usr/bin/env bash
# The one GPU session of issue #4 (about 8 minutes on an H100/H200 host): CUDA tests, the speed
# harness on CUDA, the same harness on that host's (quiet) CPU with 2 threads, and the
# trainer's fp32/AMP check. Every stage has its own time limit; everything lands in one
# archive, $OUT/gpu-session.tgz (the device tool returns at most 8 files).
#
#   OUT=/some/dir bash benchmarks/gpu_session.sh
set -u
cd "$(dirname "$0")/.."
RES=$(mktemp -d)
stage() {  # stage NAME SECONDS CMD...
  local name=$1 limit=$2
  shift 2
  local start=$SECONDS
  timeout "$limit" "$@" > "$RES/$name.log" 2>&1
  echo "$name rc=$? seconds=$((SECONDS - start))" | tee -a "$RES/status.txt"
  tail -n 12 "$RES/$name.log"
}
(nvidia-smi; lscpu | head -20; python -c "import torch; print(torch.__version__)") > "$RES/device.txt" 2>&1
stage tests 120 env DNC_QA_NATIVE=0 python -m pytest -q -x -p no:cacheprovider tests/memory tests/models
stage cuda-speed 130 python -m benchmarks.speed --device cuda --configs ref,N512,N2048 \
  --reps 5 --warmup 1 --out "$RES/cuda"
stage cpu-speed 170 python -m benchmarks.speed --device cpu --threads 2 --configs ref,N512 \
  --reps 5 --warmup 1 --out "$RES/cpu"
stage train 80 env PYTHONPATH="$PWD" python scripts/gpu_check.py --out "$RES/train" --steps 150
tar czf "${OUT:-benchmarks/results}/gpu-session.tgz" -C "$RES" .
echo "done"
