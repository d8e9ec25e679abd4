#!/usr/bin/env bash
# Runs the CUDA backend's tests and benchmark on the GPU machine, in one
# device call. Build here first (no Go there):
#   CGO_ENABLED=0 go test -c -o .gpu/cuda.test ./backend/cuda
#   CGO_ENABLED=0 go build -o .gpu/cudabench ./backend/cuda/cudabench
# then run this script through the device tool with carry [".gpu"].
# Environment: LENS (prompt lengths), DECODE (tokens), TESTRUN (go test -run pattern).
set -u
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
export LD_LIBRARY_PATH=/usr/local/cuda/targets/x86_64-linux/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
export SDTP_CUDA=1
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv,noheader | tee "$OUT/gpu.txt"
status=0
if ! timeout 300 .gpu/cuda.test -test.v -test.run "${TESTRUN:-.}" >"$OUT/test.log" 2>&1; then
  status=1
  echo "TESTS FAILED; re-running attention/elementwise under compute-sanitizer"
  timeout 200 compute-sanitizer --tool memcheck .gpu/cuda.test -test.run 'Attention|Elementwise|RoPE|MatMul' >"$OUT/sanitizer.log" 2>&1
  tail -40 "$OUT/sanitizer.log"
fi
grep -E '^(=== RUN|--- |PASS|FAIL|ok)|error|cuda_test' "$OUT/test.log" | grep -v '^=== RUN' | tail -40
if [ -x .gpu/cudabench ]; then
  timeout 400 .gpu/cudabench -lens "${LENS:-1024,2048,4096,8192,16384,32768}" -decode "${DECODE:-128}" 2>&1 | tee "$OUT/bench.log" | tail -20
fi
exit $status
