#!/usr/bin/env bash
# One device call: Hugging Face transformers (Qwen2ForCausalLM, bf16, sdpa,
# random weights of the Qwen2-7B shape, plus the SDTP `paper` schedule as a
# manual layer loop) and sdtp on synthetic:qwen2-7b with the CUDA backend
# (baseline and paper), at 1K..32K tokens: prefill seconds, decode ms/token
# over NEW greedy tokens, end-to-end seconds; then the ratios.
#
# Build here first (the GPU machine has no Go):
#   CGO_ENABLED=0 go build -o .gpu/cuda/sdtp ./cmd/sdtp
#   CGO_ENABLED=0 go build -o .gpu/cuda/cudabench ./cmd/cudabench   # fallback
# and run through the device tool with carry [".gpu/cuda"]:
#   bash scripts/gpu/bench_vs_transformers.sh
# Environment: LENS (comma-separated), NEW (decoded tokens), REPEATS.
set -u
BIN=${BIN:-.gpu/cuda}
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
LENS=${LENS:-1024,2048,4096,8192,16384,32768}
NEW=${NEW:-128}
REPEATS=${REPEATS:-3}
export LD_LIBRARY_PATH=/usr/local/cuda/targets/x86_64-linux/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
export PYTHONUNBUFFERED=1
date -u +"date %Y-%m-%dT%H:%M:%SZ" | tee "$OUT/meta.txt"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee -a "$OUT/meta.txt"

# sdtp first (its synthetic model is generated on the device).
if [ -x ${BIN}/sdtp ]; then
  timeout 900 ${BIN}/sdtp bench --backend cuda --model synthetic:qwen2-7b --lengths "$LENS" \
    --configs baseline,paper --new-tokens "$NEW" --warmup 1 --repeats "$REPEATS" --no-plots \
    --out "$OUT/sdtpbench" >"$OUT/sdtp.log" 2>&1 || { tail -40 "$OUT/sdtp.log"; echo "sdtp bench failed"; exit 1; }
  tail -25 "$OUT/sdtp.log"
else
  timeout 500 ${BIN}/cudabench -lens "$LENS" -decode "$NEW" -attn=false >"$OUT/sdtp.log" 2>&1 || echo "cudabench failed"
  tail -12 "$OUT/sdtp.log"
fi

timeout 900 python3 scripts/gpu/hf_bench.py --lens "$LENS" --new "$NEW" --reps "$REPEATS" --pruned >"$OUT/hf.log" 2>&1 || echo "transformers bench failed"
tail -10 "$OUT/hf.log"

python3 - "$OUT" <<'PY' | tee "$OUT/compare.md"
import json, os, re, sys
out = sys.argv[1]
ours, paper = {}, {}
bj = os.path.join(out, "sdtpbench", "bench.json")
if os.path.exists(bj):
    res = json.load(open(bj))
    for r in res["rows"]:
        if r.get("error"):
            print(f"sdtp row {r['length']} {r['config']}: {r['error']}")
            continue
        d = dict(prefill=r["prefill_seconds"]["median"],
                 decode=r["decode_seconds"]["median"] * 1000 / max(1, r["new_tokens"] - 1),
                 e2e=r["total_seconds"]["median"], flops=r["flops"]["prefill"], kv=r["kv_bytes_total"])
        (ours if r["config"] == "baseline" else paper if r["config"] == "paper" else {})[r["length"]] = d
else:
    for line in open(os.path.join(out, "sdtp.log")):
        m = re.match(r"\| (\d+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \|", line)
        if m:
            ours[int(m.group(1))] = dict(prefill=float(m.group(2)), decode=float(m.group(3)), e2e=float(m.group(4)))
hf = {}
for line in open(os.path.join(out, "hf.log")):
    if line.startswith("{"):
        r = json.loads(line)
        hf[r["tokens"]] = r
print("| tokens | sdtp prefill s | HF prefill s | prefill speedup | sdtp decode ms/tok | HF decode ms/tok | sdtp e2e s | HF e2e s |")
print("|---|---|---|---|---|---|---|---|")
for n in sorted(set(ours) & set(hf)):
    o, h = ours[n], hf[n]
    print(f"| {n} | {o['prefill']:.4f} | {h['prefill_s']:.4f} | {h['prefill_s']/o['prefill']:.2f}x | {o['decode']:.2f} | {h['decode_ms']:.2f} | {o['e2e']:.3f} | {h['e2e_s']:.3f} |")
if paper:
    print()
    print("| tokens | sdtp paper prefill s | speedup vs own baseline | analytic FLOPs ratio | speedup / FLOPs ratio | HF paper loop prefill s | sdtp vs HF loop | KV bytes paper/baseline |")
    print("|---|---|---|---|---|---|---|---|")
    for n in sorted(set(paper) & set(ours)):
        p, o = paper[n], ours[n]
        sp = o["prefill"] / p["prefill"]
        fr = o["flops"] / p["flops"]
        hp = hf.get(n, {}).get("pruned_prefill_s")
        hps = f"{hp:.4f}" if hp else "-"
        vs = f"{hp / p['prefill']:.2f}x" if hp else "-"
        print(f"| {n} | {p['prefill']:.4f} | {sp:.2f}x | {fr:.2f}x | {sp / fr:.2f} | {hps} | {vs} | {p['kv'] / o['kv']:.3f} |")
PY
