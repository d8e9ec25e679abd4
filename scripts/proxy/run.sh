#!/usr/bin/env bash
# One device call (issue 15, part 2): pretrain the proxy model and take a first
# RULER reading of it with sdtp on the GPU. Build here first:
#   scripts/build-gpu.sh
# then run through the device tool with carry [".gpu/pack"]:
#   bash scripts/proxy/run.sh
# $OUT gets pretrain.log, proxy.json, model.safetensors in 15 MiB parts (the
# device tool returns files of at most 16 MiB; join them with cat in name
# order and check the sha256 in proxy.json) as soon as training ends, then
# proxy-rest.tar.xz (every other file of the model folder, heldout.jsonl and
# modtrain.jsonl, the first RULER run). DEADLINE (default 540) is what the
# pretraining may take in all, TRAIN_SECONDS (default 330) what its training
# loop may take at most, RULER_SECONDS (default 40; 0 skips the first RULER
# reading).
set -u -o pipefail
OUT=${OUT:-/tmp/out}
BIN=.gpu/all
# Always unpacked afresh: a warm machine keeps the .gpu/all of an earlier call.
[ -f .gpu/pack/all.tar.xz ] && rm -rf .gpu/all && tar -C .gpu -xJf .gpu/pack/all.tar.xz
export PYTHONUNBUFFERED=1
P=/tmp/proxy
rm -rf "$P" # a warm machine keeps /tmp: never mix two runs
python3 scripts/proxy/pretrain.py --sdtp $BIN/sdtp --out $P --train-seconds "${TRAIN_SECONDS:-330}" \
  --deadline "${DEADLINE:-540}" 2>&1 | tee "$OUT/pretrain.log"
status=$?
if [ -f $P/model.safetensors ]; then
  # The model first: what follows may run into the call's limit.
  split -b 15m -d "$P/model.safetensors" "$OUT/model.safetensors.part-"
  cp "$P/proxy.json" "$OUT/"
  export LD_LIBRARY_PATH=/usr/local/cuda/targets/x86_64-linux/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
  timeout 30 $BIN/sdtp generate --backend cuda --model $P --prompt 'import os
import sys

def main(' --max-tokens 48 2>&1 | tee "$P/generate.txt"
  if [ "${RULER_SECONDS:-40}" -gt 0 ]; then
    timeout "${RULER_SECONDS:-40}" $BIN/sdtp ruler run --backend cuda --model $P --tasks niah_single_1,niah_multikey_1,vt,fwe \
      --lengths 4K,8K --samples 5 --out $P/ruler-first >"$P/ruler-first.log" 2>&1
    timeout 20 $BIN/sdtp ruler score --preds $P/ruler-first 2>&1 | tee "$P/ruler-first.md"
  fi
  tar -C $P -cJf "$OUT/proxy-rest.tar.xz" --exclude model.safetensors .
fi
exit $status
