#!/usr/bin/env bash
# Measures, in one session on this machine, the CPU figures of
# docs/PERFORMANCE.md (issue 2): OpenBLAS sgemm GFLOP/s at Qwen2-0.5B
# shapes (the yardstick), our MatMul at the same shapes, and prefill
# tokens/s at 512 and 2048 tokens and decode tokens/s of
# synthetic:qwen2-0.5b. Needs libopenblas-dev and gcc (installed if absent).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! [ -e /usr/include/x86_64-linux-gnu/cblas.h ] && ! [ -e /usr/include/x86_64-linux-gnu/openblas-pthread/cblas.h ]; then
  apt-get install -y -q libopenblas-dev >/dev/null
fi
gcc -O2 -o /tmp/sgemm_gflops tools/openblas/sgemm_gflops.c -lopenblas
echo "== $(date -u +%FT%TZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2) ($(nproc) cores), load $(cut -d' ' -f1-3 /proc/loadavg)"
core=""
grep -q avx512f /proc/cpuinfo && core=SkylakeX
echo "== OpenBLAS sgemm (OPENBLAS_CORETYPE=${core:-auto}), 2 threads"
OPENBLAS_CORETYPE=$core OPENBLAS_NUM_THREADS=2 /tmp/sgemm_gflops
echo "== sdtp CPU backend MatMul, 2 threads"
go test ./backend/cpu -run '^$' -bench 'MatMul' -cpu 2 2>&1 | grep -E '^Benchmark'
echo "== sdtp synthetic:qwen2-0.5b (bf16 weights), 2 threads"
go test ./model -run '^$' -bench 'Prefill|Decode' -benchtime 3x 2>&1 | grep -E '^Benchmark'
echo "== load at end $(cut -d' ' -f1-3 /proc/loadavg)"
