#!/usr/bin/env bash
# One prepared run on a GPU host (at most 9.5 minutes on an H100/H200 host with 16 idle CPU
# cores): the C++ tests (they build the kernels), the speed harness on that host's quiet CPU
# with 2 threads (numbers a busy 2-core machine cannot give cleanly), the CUDA tests, and the
# harness on CUDA at the reference config. Every stage has its own time limit; everything
# lands in one archive, $OUT/gpu-session.tgz (one file to copy back). pip `dnc==1.1.0` comes
# as a wheel in .whl/ (for hosts without network access).
#
#   OUT=/some/dir bash benchmarks/gpu_session.sh
set -u
cd "$(dirname "$0")/.."
RES=$(mktemp -d)
ARCHIVE="${OUT:-benchmarks/results}/gpu-session.tgz"
stage() {  # stage NAME SECONDS CMD...  (the archive is rewritten after every stage)
  local name=$1 limit=$2
  shift 2
  local start=$SECONDS
  timeout "$limit" "$@" > "$RES/$name.log" 2>&1
  echo "$name rc=$? seconds=$((SECONDS - start))" | tee -a "$RES/status.txt"
  tail -n 12 "$RES/$name.log"
  tar czf "$ARCHIVE" -C "$RES" .
}
(nvidia-smi; lscpu | head -20; python -c "import torch; print(torch.__version__)"; git log -1 --oneline) \
  > "$RES/device.txt" 2>&1
stage setup 30 python -m pip install -q --no-deps .whl/dnc-1.1.0-py3-none-any.whl
stage cpu-tests 150 python -m pytest -q -x -p no:cacheprovider tests/models/test_cpp_sequence.py \
  tests/memory/test_cpp_step.py tests/memory/test_backends.py
stage cpu-speed 190 python -m benchmarks.speed --device cpu --threads 2 --configs ref,N512 \
  --reps 5 --warmup 1 --unfused --out "$RES/cpu"
stage cuda-tests 110 python -m pytest -q -x -p no:cacheprovider tests/memory tests/models
stage cuda-speed 60 python -m benchmarks.speed --device cuda --configs ref --reps 5 --warmup 1 \
  --no-sparse --out "$RES/cuda"
echo "done"
