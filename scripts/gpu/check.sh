#!/usr/bin/env bash
# Runs the CUDA backend's tests, kernel benchmarks and layer-stack benchmark
# on the GPU machine, in one device call. Build here first (no Go there):
#   CGO_ENABLED=0 go test -c -o .gpu/cuda/cuda.test ./backend/cuda
#   CGO_ENABLED=0 go build -o .gpu/cuda/cudabench ./cmd/cudabench
# then run this script through the device tool with carry [".gpu/cuda"].
# Environment: TESTRUN (test pattern, "none" to skip), BENCH (benchmark
# pattern, "none" to skip), LENS and DECODE (cudabench; LENS=none skips).
set -u
BIN=${BIN:-.gpu/cuda}
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
export LD_LIBRARY_PATH=/usr/local/cuda/targets/x86_64-linux/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
export SDTP_CUDA=1
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv,noheader | tee "$OUT/gpu.txt"
status=0
if [ "${TESTRUN:-.}" != none ]; then
  start=$(date +%s)
  if ! timeout 300 ${BIN}/cuda.test -test.v -test.run "${TESTRUN:-.}" >"$OUT/test.log" 2>&1; then
    status=1
    echo "TESTS FAILED"
  fi
  grep -E '^\s*(--- FAIL|FAIL|ok|PASS)|cuda_test.go|suite.go|check.go|attention.go|_test.go:' "$OUT/test.log" | head -60
  grep -E '^--- (PASS|FAIL)' "$OUT/test.log"
  echo "tests took $(( $(date +%s) - start ))s"
fi
if [ "${BENCH:-.}" != none ]; then
  timeout 300 ${BIN}/cuda.test -test.run '^$' -test.bench "${BENCH:-.}" -test.benchtime 20x 2>&1 | tee "$OUT/kbench.log" | grep -E 'Benchmark|FAIL|panic'
fi
if [ -x ${BIN}/cudabench ] && [ "${LENS:-}" != none ]; then
  timeout 400 ${BIN}/cudabench -lens "${LENS:-1024,2048,4096,8192,16384,32768}" -decode "${DECODE:-128}" 2>&1 | tee "$OUT/bench.log" | tail -12
fi
exit $status
