#!/usr/bin/env bash
# GPU training checks and measurements, in one device call (issue 14).
# Build here first: scripts/build-gpu.sh (binaries and test files into
# .gpu/all), and put the stories260K corpus files (train.jsonl,
# heldout.jsonl from 'sdtp train corpus', docs/TRAINING.md) in .gpu/all/s260;
# then pack (scripts/build-gpu.sh does; again after adding s260:
# tar -C .gpu -cJf .gpu/pack/all.tar.xz all) and run this through the device
# tool with carry [".gpu/pack"].
# Since the proxy model is in the tree (testdata/proxy, 44 MB), the whole pack
# no longer fits the device tool's 64 MiB beside it: pack per call, e.g.
# PACK="cuda.test model.test dlm.test train.test testdata/llama2c" for
# STEPS="tests golden", and PACK="sdtp s260 testdata/llama2c" for STEPS="s260
# bench torch" (scripts/build-gpu.sh prints the total).
# Steps (STEPS, default all): tests (the backend's conformance suite, training
# ops included; transformers parity; saliency and gradient parity on cuda and
# cuda-f32), golden (PyTorch saliency golden),
# s260 (the stories260K recipe on the GPU, seeds 1-3, and 'train eval' of
# the three modules on the GPU), bench (sdtp train
# bench on the Qwen2-7B shape), torch (PyTorch autograd on the same shape).
# Everything lands in $OUT/results.tar; a summary is printed last. SEEDS
# (default 1 2 3, trained at once), EVAL=0 (no GPU eval), LENGTHS and TORCH_LENGTHS trim it.
set -u
BIN=${BIN:-.gpu/all}
# Always unpacked afresh: a warm machine keeps the .gpu/all of an earlier call.
[ -f .gpu/pack/all.tar.xz ] && rm -rf .gpu/all && tar -C .gpu -xJf .gpu/pack/all.tar.xz
OUT=${OUT:-/tmp/out}
STEPS=${STEPS:-tests golden s260 bench torch}
R=/tmp/results
mkdir -p "$R" "$OUT"
export LD_LIBRARY_PATH=/usr/local/cuda/targets/x86_64-linux/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
export SDTP_CUDA=1 SDTP_TESTDATA=$BIN/testdata PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$R/gpu.txt"
has() { case " $STEPS " in *" $1 "*) return 0 ;; esac; return 1; }
# The results go to $OUT after every step, so a call cut short keeps what ran.
step() { tar -C /tmp -cf "$OUT/results.tar.part" results && mv "$OUT/results.tar.part" "$OUT/results.tar"; echo "== $1 ($(date +%T))"; }
if has tests; then
  step tests
  timeout 240 $BIN/cuda.test -test.run 'Conformance|BatchAttention|ScatterRows' -test.v >"$R/conformance.log" 2>&1
  echo "conformance exit $?"
  grep -E -- '--- FAIL|^(ok|FAIL|PASS)' "$R/conformance.log" | head -20
  grep -E 'Train|Masked|Back|Zero|RowDot|CrossEntropy' "$R/conformance.log" | grep -E 'FAIL|train.go' | head -30
  timeout 120 $BIN/model.test -test.run 'Parity|CUDADecodeBatch' -test.v >"$R/parity.log" 2>&1
  echo "model parity exit $?"
  grep -E -- '--- (FAIL|PASS|SKIP)' "$R/parity.log" | head -10
  timeout 120 $BIN/dlm.test -test.v >"$R/dlm.log" 2>&1
  echo "dlm exit $?"
  grep -E -- '--- (FAIL|PASS|SKIP)|worst|Spearman [0-9]' "$R/dlm.log" | grep -v '^\s*--- PASS.*cpu' | head -40
  timeout 120 $BIN/train.test -test.run 'DeviceLoss|PrunedForward|Bench' -test.v >"$R/train.log" 2>&1
  echo "train exit $?"
  grep -E -- '--- (FAIL|PASS|SKIP)|module gradient|flipped' "$R/train.log" | head -30
fi
if has golden; then
  step golden
  timeout 120 python3 scripts/parity/make_saliency_golden.py --out "$R/golden" 2>&1 | tail -3
fi
if has s260; then
  step s260
  M=$BIN/testdata/llama2c/stories260K.bin T=$BIN/testdata/llama2c/tok512.bin
  # The seeds train at once: a model this small leaves the GPU mostly idle.
  for s in ${SEEDS:-1 2 3}; do
    (
      start=$SECONDS
      timeout 420 $BIN/sdtp train --backend cuda --model $M --tokenizer $T --data $BIN/s260/train.jsonl --max-tokens 256 \
        --prune-layers 3,4 --keep-ratio 0.6 --epochs 4 --seed $s --out "$R/gpu-seed$s.safetensors" >"$R/gpu-seed$s.out" 2>"$R/gpu-seed$s.err"
      echo "seed $s exit $? in $((SECONDS - start)) s: $(tail -c 300 "$R/gpu-seed$s.out")"
    ) &
  done
  wait
  if [ "${EVAL:-1}" = 1 ]; then
    start=$SECONDS
    timeout 120 $BIN/sdtp train eval --backend cuda --model $M --tokenizer $T --data $BIN/s260/heldout.jsonl --max-tokens 256 \
      --module "$R/gpu-seed1.safetensors,$R/gpu-seed2.safetensors,$R/gpu-seed3.safetensors" --out "$R/gpu-eval-cuda.json" >"$R/gpu-eval-cuda.md" 2>"$R/gpu-eval-cuda.err"
    rc=$?
    echo "eval on cuda exit $rc in $((SECONDS - start)) s" && head -12 "$R/gpu-eval-cuda.md"
  fi
fi
if has bench; then
  step bench
  timeout 300 $BIN/sdtp train bench --model synthetic:qwen2-7b --backend cuda --lengths ${LENGTHS:-512,1K,2K,4K,8K} \
    --repeats 3 --out "$R/trainbench.json" 2>"$R/trainbench.err" | tee "$R/trainbench.md"
  tail -3 "$R/trainbench.err"
fi
if has torch; then
  step torch
  timeout 300 python3 scripts/gpu/saliency_torch_bench.py --lengths ${TORCH_LENGTHS:-4096,8192} --out "$R/torch_saliency.json" 2>&1 | tail -6
fi
step finished
