#!/usr/bin/env bash
# The device call after scripts/proxy/run.sh (issue 15, part 2; and the first
# GPU training of issue 14): on the machine that pretrained the proxy (call it
# at once, while that machine is warm: the proxy is in /tmp/proxy), or with the
# committed proxy, testdata/proxy (its texts are then written again by
# pretrain.py --corpus-only and checked against proxy.json). Carry
# [".gpu/pack"]. Beside the committed proxy only part of the pack fits the
# device tool's 64 MiB, so split the steps over two calls:
#   PACK="cuda.test dlm.test train.test testdata/llama2c" scripts/build-gpu.sh, then STEPS=tests
#   PACK="sdtp s260 testdata/llama2c" scripts/build-gpu.sh, then STEPS="s260 modules evidence"
# It
#   1. trains, in the background, the stories260K modules on the GPU (seeds
#      1-3: docs/TRAINING.md's recipe, for the comparison with the host seeds)
#      and the proxy's pruning modules, one per schedule;
#   2. meanwhile makes the PyTorch saliency golden and runs the backend
#      conformance suite on the GPU (training ops included), the GPU
#      saliency and gradient parity of train/dlm (the golden included) and,
#      where train.test is packed, train's device-loss and pruned-pass tests;
#   3. waits for the trainings;
#   4. runs scripts/proxy/evidence.sh on the GPU with them (RULER, the lcc-style
#      code task, speed; with H2O set, H2O alone and after each module).
# $OUT/pm.tar.xz holds everything (the module, logs, run folders), packed again
# after every step so that a call cut short keeps what ran.
# Environment: STEPS (tests s260 modules evidence; two calls in a row on one warm
# machine can split them, since /tmp/pm stays), SCHEDULES (paper-scaled
# keep0.8-scaled keep0.7-scaled: one module each, trained at once), TRAIN_SECONDS
# (210; a module is written only at its end, so LIMIT bounds the work),
# MAX_TOKENS (4096), EPOCHS (2), LIMIT (400 texts), BATCH (4), CALL_SECONDS (570:
# the evidence gets what is left of it), and the evidence's JOBS (12
# configurations at once), RULER_SAMPLES (5), LCC_ROWS (40), H2O (unset);
# EVIDENCE_STEPS (evidence.sh's STEPS: ruler lcc speed); TRAIN_BACKEND and RUN_BACKEND (cuda: training and evidence; cpu-f32 and cpu
# dry-run the script on a CPU with a small PROXY, given with TOKENIZER,
# MODTRAIN and HELDOUT where it does not hold them).
set -u -o pipefail
OUT=${OUT:-/tmp/out}
BIN=$PWD/.gpu/all
# Always unpacked afresh: a warm machine keeps the .gpu/all of an earlier call.
[ -f .gpu/pack/all.tar.xz ] && rm -rf .gpu/all && tar -C .gpu -xJf .gpu/pack/all.tar.xz
P=${PROXY:-}
if [ -z "$P" ]; then
  P=/tmp/proxy
  [ -f "$P/model.safetensors" ] || P=$PWD/testdata/proxy
fi
MODTRAIN=${MODTRAIN:-$P/modtrain.jsonl}
R=/tmp/pm # kept across calls on a warm machine: the modules of one call feed the evidence of the next
mkdir -p "$R" "$OUT"
if [ ! -f "$MODTRAIN" ] && [ -f "$P/proxy.json" ]; then
  # A committed proxy (testdata/proxy) has no texts beside it: the same split
  # again, from this machine's Python installation, checked against proxy.json.
  python3 scripts/proxy/pretrain.py --sdtp "$BIN/sdtp" --out "$R/corpus" --corpus-only
  MODTRAIN=$R/corpus/modtrain.jsonl
  export HELDOUT=${HELDOUT:-$R/corpus/heldout.jsonl}
  for f in modtrain.jsonl heldout.jsonl; do
    want=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['files'][sys.argv[2]]['sha256'])" "$P/proxy.json" $f)
    got=$(sha256sum "$R/corpus/$f" | cut -d' ' -f1)
    [ "$want" = "$got" ] && echo "$f: the proxy's own ($got)" || echo "$f: NOT the proxy's ($got, proxy.json has $want): another Python installation"
  done
fi
STEPS=${STEPS:-tests s260 modules evidence}
has() { case " $STEPS " in *" $1 "*) return 0 ;; esac; return 1; }
export LD_LIBRARY_PATH=/usr/local/cuda/targets/x86_64-linux/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
export SDTP_CUDA=1 SDTP_TESTDATA=$BIN/testdata PYTHONUNBUFFERED=1
# save packs the results so far, replacing the last pack only once the new one is whole.
save() { tar -C /tmp -cJf "$OUT/pm.tar.xz.part" --exclude '*.ckpt' pm && mv "$OUT/pm.tar.xz.part" "$OUT/pm.tar.xz"; echo "== $1 ($(date +%T))"; }
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$R/gpu.txt"
echo "proxy: $P"
SCHEDULES=${SCHEDULES:-paper-scaled keep0.8-scaled keep0.7-scaled}
TRAIN_BACKEND=${TRAIN_BACKEND:-cuda} RUN_BACKEND=${RUN_BACKEND:-cuda}
TOK=()
[ -n "${TOKENIZER:-}" ] && TOK=(--tokenizer "$TOKENIZER")

# The trainings start first and run in the background (a model this small
# leaves the GPU mostly idle), the tests beside them.
if has s260; then
  M=$BIN/testdata/llama2c/stories260K.bin T=$BIN/testdata/llama2c/tok512.bin
  for s in 1 2 3; do
    timeout 300 "$BIN/sdtp" train --backend "$TRAIN_BACKEND" --model "$M" --tokenizer "$T" --data "$BIN/s260/train.jsonl" --max-tokens 256 \
      --prune-layers 3,4 --keep-ratio 0.6 --epochs 4 --seed $s --out "$R/s260-gpu-seed$s.safetensors" \
      >"$R/s260-gpu-seed$s.out" 2>"$R/s260-gpu-seed$s.err" &
  done
fi
if has modules; then
  for s in $SCHEDULES; do
    timeout "${TRAIN_SECONDS:-210}" "$BIN/sdtp" train --backend "$TRAIN_BACKEND" --model "$P" "${TOK[@]}" --data "$MODTRAIN" --prune "$s" \
      --max-tokens "${MAX_TOKENS:-4096}" --epochs "${EPOCHS:-2}" --limit "${LIMIT:-400}" --batch "${BATCH:-4}" --seed 1 \
      --out "$R/proxy-$s.safetensors" >"$R/module-$s.out" 2>"$R/module-$s.err" &
  done
fi

if has tests; then
  save tests
  # The PyTorch saliency golden first (into testdata/, where the dlm test reads it; commit it).
  timeout 90 python3 scripts/parity/make_saliency_golden.py >"$R/golden.log" 2>&1
  echo "golden exit $?"
  cp testdata/parity/qwen2/saliency.* "$R/" 2>/dev/null
  timeout 120 "$BIN/cuda.test" -test.run 'Conformance|BatchAttention|ScatterRows' -test.v >"$R/conformance.log" 2>&1
  echo "conformance exit $?"
  grep -E -- '--- FAIL|^(ok|FAIL|PASS)' "$R/conformance.log" | head -30
  timeout 90 "$BIN/dlm.test" -test.v >"$R/dlm.log" 2>&1
  echo "dlm exit $?"
  grep -E -- '--- (FAIL|PASS|SKIP)|worst|Spearman [0-9]' "$R/dlm.log" | grep -v 'PASS.*cpu' | head -30
  if [ -x "$BIN/train.test" ]; then
    timeout 120 "$BIN/train.test" -test.run 'DeviceLoss|PrunedForward|DeviceTrainResumes' -test.v >"$R/train.log" 2>&1
    echo "train exit $?"
    grep -E -- '--- (FAIL|PASS|SKIP)|module gradient|flipped' "$R/train.log" | head -30
  fi
  save tests-done
fi

wait
echo "trainings done at $SECONDS s"
if has s260; then
  for s in 1 2 3; do echo "s260 seed $s: $(tail -c 200 "$R/s260-gpu-seed$s.out") $(tail -c 200 "$R/s260-gpu-seed$s.err")"; done
fi
if has modules; then
  for s in $SCHEDULES; do echo "== $s"; tail -c 400 "$R/module-$s.err"; tail -c 300 "$R/module-$s.out"; done
fi

if has evidence; then
  save evidence
  mods=()
  for s in $SCHEDULES; do
    [ -f "$R/proxy-$s.safetensors" ] && mods+=("MODULE_${s//[-.]/_}=$R/proxy-$s.safetensors")
  done
  left=$((${CALL_SECONDS:-570} - SECONDS - 20))
  [ "$left" -gt 30 ] || { echo "evidence: no time left in CALL_SECONDS (${left} s)"; save finished; exit 1; }
  env "${mods[@]}" STEPS="${EVIDENCE_STEPS:-ruler lcc speed}" PROXY="$P" SDTP="$BIN/sdtp" LCCGEN="$BIN/lccgen" WORK="$R/evidence" BACKEND="$RUN_BACKEND" SCHEDULES="$SCHEDULES" \
    JOBS="${JOBS:-12}" RULER_SAMPLES="${RULER_SAMPLES:-5}" LCC_ROWS="${LCC_ROWS:-40}" \
    timeout "$left" bash scripts/proxy/evidence.sh >"$R/evidence.log" 2>&1
  echo "evidence exit $? (given $left s)"
  tail -5 "$R/evidence.log"
  head -40 "$R/evidence/ruler-report.md" 2>/dev/null
  head -30 "$R/evidence/lcc-report.md" 2>/dev/null
fi
save finished
