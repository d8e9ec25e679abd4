#!/usr/bin/env bash
# One device call: Hugging Face transformers (Qwen2ForCausalLM, bf16, sdpa,
# random weights of the Qwen2-7B shape) and sdtp's CUDA backend on the same
# shape, at 1K..32K tokens: prefill seconds, decode ms/token over 128 greedy
# tokens, end-to-end seconds; then the ratios.
#
# Build here first (the GPU machine has no Go):
#   CGO_ENABLED=0 go build -o .gpu/cudabench ./backend/cuda/cudabench
#   CGO_ENABLED=0 go build -o .gpu/sdtp ./cmd/sdtp      # when `sdtp bench` exists
# and run through the device tool with carry [".gpu"]:
#   bash scripts/gpu/bench_vs_transformers.sh
# Environment: LENS (comma-separated), NEW (decoded tokens).
set -u
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
LENS=${LENS:-1024,2048,4096,8192,16384,32768}
NEW=${NEW:-128}
export LD_LIBRARY_PATH=/usr/local/cuda/targets/x86_64-linux/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
export PYTHONUNBUFFERED=1
date -u +"date %Y-%m-%dT%H:%M:%SZ" | tee "$OUT/meta.txt"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee -a "$OUT/meta.txt"

# Our engine first (the synthetic model is generated on the device).
# TODO(when `sdtp bench` lands): run `.gpu/sdtp bench` on synthetic:qwen2-7b here instead.
timeout 500 .gpu/cudabench -lens "$LENS" -decode "$NEW" -attn=false >"$OUT/sdtp.log" 2>&1 || echo "sdtp bench failed"
tail -12 "$OUT/sdtp.log"

timeout 900 python3 scripts/gpu/hf_bench.py --lens "$LENS" --new "$NEW" >"$OUT/hf.log" 2>&1 || echo "transformers bench failed"
tail -10 "$OUT/hf.log"

python3 - "$OUT/sdtp.log" "$OUT/hf.log" <<'PY' | tee "$OUT/compare.md"
import json, re, sys
ours = {}
for line in open(sys.argv[1]):
    m = re.match(r"\| (\d+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \|", line)
    if m:
        n = int(m.group(1))
        ours[n] = dict(prefill=float(m.group(2)), decode=float(m.group(3)), e2e=float(m.group(4)))
hf = {}
for line in open(sys.argv[2]):
    if line.startswith("{"):
        r = json.loads(line)
        hf[r["tokens"]] = dict(prefill=r["prefill_s"], decode=r["decode_ms"], e2e=r["e2e_s"])
print("| tokens | sdtp prefill s | HF prefill s | prefill speedup | sdtp decode ms/tok | HF decode ms/tok | sdtp e2e s | HF e2e s |")
print("|---|---|---|---|---|---|---|---|")
for n in sorted(set(ours) & set(hf)):
    o, h = ours[n], hf[n]
    print(f"| {n} | {o['prefill']:.4f} | {h['prefill']:.4f} | {h['prefill']/o['prefill']:.2f}x | {o['decode']:.2f} | {h['decode']:.2f} | {o['e2e']:.3f} | {h['e2e']:.3f} |")
PY
