#!/usr/bin/env bash
# The device call after scripts/proxy/run.sh (issue 15, part 2; and the first
# GPU training of issue 14): on the machine that pretrained the proxy (call it
# at once, while that machine is warm: the proxy is in /tmp/proxy), or with the
# proxy folder carried in .gpu/proxy (model.safetensors joined from its parts,
# heldout.jsonl and modtrain.jsonl beside it). Carry [".gpu/pack"] (and
# ".gpu/proxy" for the second way). It
#   1. runs the backend conformance suite on the GPU (training ops included)
#      and the GPU saliency and gradient parity of train/dlm;
#   2. trains the stories260K modules on the GPU (seeds 1-3, in the background:
#      docs/TRAINING.md's recipe, for the comparison with the host seeds);
#   3. trains a pruning module for the proxy on the GPU (--prune paper-scaled);
#   4. runs scripts/proxy/evidence.sh on the GPU with it (RULER, the lcc-style
#      code task, speed; H2O alone and after the module).
# $OUT/pm.tar.xz holds everything (the module, logs, run folders), packed again
# after every step so that a call cut short keeps what ran.
# Environment: TRAIN_SECONDS (150: the proxy module's training; the module is
# written only at its end, so LIMIT bounds the work), MAX_TOKENS (4096), EPOCHS
# (2), LIMIT (300 texts), and evidence.sh's (RULER_SAMPLES 10, LCC_ROWS 60,
# SCHEDULES "paper-scaled keep0.7-scaled", H2O 0.4, EVIDENCE_SECONDS 220).
set -u -o pipefail
OUT=${OUT:-/tmp/out}
BIN=$PWD/.gpu/all
[ -x "$BIN/sdtp" ] || tar -C .gpu -xJf .gpu/pack/all.tar.xz
P=${PROXY:-/tmp/proxy}
[ -f "$P/model.safetensors" ] || P=$PWD/.gpu/proxy
R=/tmp/pm
rm -rf "$R"
mkdir -p "$R" "$OUT"
export LD_LIBRARY_PATH=/usr/local/cuda/targets/x86_64-linux/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
export SDTP_CUDA=1 SDTP_TESTDATA=$BIN/testdata PYTHONUNBUFFERED=1
save() { tar -C /tmp -cJf "$OUT/pm.tar.xz" pm; echo "== $1 ($(date +%T))"; }
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$R/gpu.txt"
echo "proxy: $P"

save tests
timeout 120 "$BIN/cuda.test" -test.run 'Conformance|BatchAttention|ScatterRows' -test.v >"$R/conformance.log" 2>&1
echo "conformance exit $?"
grep -E -- '--- FAIL|^(ok|FAIL|PASS)' "$R/conformance.log" | head -30
timeout 60 "$BIN/dlm.test" -test.v >"$R/dlm.log" 2>&1
echo "dlm exit $?"
grep -E -- '--- (FAIL|PASS|SKIP)|worst|Spearman [0-9]' "$R/dlm.log" | grep -v 'PASS.*cpu' | head -30

save s260
M=$BIN/testdata/llama2c/stories260K.bin T=$BIN/testdata/llama2c/tok512.bin
for s in 1 2 3; do
  timeout 300 "$BIN/sdtp" train --backend cuda --model "$M" --tokenizer "$T" --data "$BIN/s260/train.jsonl" --max-tokens 256 \
    --prune-layers 3,4 --keep-ratio 0.6 --epochs 4 --seed $s --out "$R/s260-gpu-seed$s.safetensors" \
    >"$R/s260-gpu-seed$s.out" 2>"$R/s260-gpu-seed$s.err" &
done

save module
start=$SECONDS
timeout "${TRAIN_SECONDS:-150}" "$BIN/sdtp" train --backend cuda --model "$P" --data "$P/modtrain.jsonl" --prune paper-scaled \
  --max-tokens "${MAX_TOKENS:-4096}" --epochs "${EPOCHS:-2}" --limit "${LIMIT:-300}" --seed 1 --out "$R/proxy-paper-scaled.safetensors" \
  >"$R/module.out" 2>"$R/module.err"
echo "module training exit $? in $((SECONDS - start)) s"
tail -c 600 "$R/module.err"
tail -c 400 "$R/module.out"

save evidence
mod=()
[ -f "$R/proxy-paper-scaled.safetensors" ] && mod=(MODULE_paper_scaled="$R/proxy-paper-scaled.safetensors")
env "${mod[@]}" PROXY="$P" SDTP="$BIN/sdtp" LCCGEN="$BIN/lccgen" WORK="$R/evidence" BACKEND=cuda \
  SCHEDULES="${SCHEDULES:-paper-scaled keep0.7-scaled}" RULER_SAMPLES="${RULER_SAMPLES:-10}" LCC_ROWS="${LCC_ROWS:-60}" \
  H2O="${H2O:-0.4}" timeout "${EVIDENCE_SECONDS:-220}" bash scripts/proxy/evidence.sh >"$R/evidence.log" 2>&1
echo "evidence exit $?"
tail -5 "$R/evidence.log"
cat "$R/evidence/ruler-report.md" 2>/dev/null | head -40
cat "$R/evidence/lcc-report.md" 2>/dev/null | head -30
wait
for s in 1 2 3; do echo "s260 seed $s: $(tail -c 200 "$R/s260-gpu-seed$s.out")"; done
save done
