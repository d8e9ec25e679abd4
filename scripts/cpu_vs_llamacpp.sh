#!/usr/bin/env bash
# Issue 18: sdtp's CPU backend against llama.cpp on the very same model,
# from scratch. It
#   1. builds llama.cpp at a pinned commit of its public source, outside
#      this repository (-O3 -march=native through GGML_NATIVE, OpenMP, no
#      BLAS): the source is $LLAMA_CPP_SRC if that folder holds it, else a
#      git clone of https://github.com/ggml-org/llama.cpp checked out at
#      $LLAMA_CPP_COMMIT (needs network);
#   2. builds sdtp and tools/llama2cgen;
#   3. makes a random-weight llama2.c model of a Qwen2-0.5B-like Llama
#      shape (dim 896, FFN 4864, 24 layers, 14/2 heads, vocabulary 32000)
#      with its bf16 and f16 copies for sdtp, and converts it to GGUF with
#      llama.cpp's own llama2c converter (f32), then llama-quantize (BF16,
#      F16);
#   4. times prefill (512 tokens, to the last token's logits) and decode
#      (128 one-token steps from an empty cache) in both engines, in
#      interleaved rounds (the engine that goes first alternates), each
#      run after one untimed warm-up run: llama-bench pp512/tg128, and
#      sdtp bench (prompt 512 with 1 new token; prompt 1 with 129 new
#      tokens, i.e. 128 decode steps);
#   5. prints the medians per row and their ratio (sdtp ÷ llama.cpp) as a
#      markdown table, with the machine, the load, the date and both commits.
#
# Nothing of llama.cpp enters this repository: its source, build and the
# models live under $WORK (default ~/.cache/sdtp-vs-llamacpp).
#
# Environment: WORK, LLAMA_CPP_SRC, LLAMA_CPP_COMMIT, ROUNDS (3),
# THREADS ("2 1"), DTYPES ("f32 bf16 f16"), ISA (native: each engine's
# best kernels for this CPU; avx2: both held to AVX2+FMA+F16C, llama.cpp
# built without -march=native and sdtp run with GODEBUG=cpu.avx512f=off, to
# measure an AVX2-only machine on an AVX-512 one), and SDTP_BASE: another sdtp
# source tree (e.g. a git worktree of an earlier commit) to time in the same
# rounds as a third engine, for before/after tables. Needs go, git, cmake, g++,
# python3 (the table); cmake and g++ are installed with apt-get when
# missing and the script runs as root.
#
# The machine should be otherwise idle: both engines keep every core busy,
# and llama.cpp's OpenMP threads spin, so a shared machine slows llama.cpp
# far more than sdtp. The load average is printed before and after.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
LLAMA_CPP_COMMIT=${LLAMA_CPP_COMMIT:-c392e5094deaf2d1a7c18683214f007fad3fe42b}
WORK=${WORK:-$HOME/.cache/sdtp-vs-llamacpp}
LLAMA_CPP_SRC=${LLAMA_CPP_SRC:-$WORK/llama.cpp}
ISA=${ISA:-native}
ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-"2 1"}
DTYPES=${DTYPES:-"f32 bf16 f16"}
PROMPT=512
GEN=128

case "$WORK/" in "$repo"/*) echo "WORK ($WORK) must be outside the repository" >&2; exit 1 ;; esac
mkdir -p "$WORK/bin" "$WORK/model" "$WORK/runs"
log() { echo "== $*" >&2; }

# 1. llama.cpp.
if ! [ -f "$LLAMA_CPP_SRC/CMakeLists.txt" ]; then
  log "cloning llama.cpp into $LLAMA_CPP_SRC"
  git clone --quiet https://github.com/ggml-org/llama.cpp "$LLAMA_CPP_SRC"
  git -C "$LLAMA_CPP_SRC" checkout --quiet "$LLAMA_CPP_COMMIT"
fi
if git -C "$LLAMA_CPP_SRC" rev-parse HEAD >/dev/null 2>&1; then
  have=$(git -C "$LLAMA_CPP_SRC" rev-parse HEAD)
  case "$have" in "$LLAMA_CPP_COMMIT"*) ;; *) echo "$LLAMA_CPP_SRC is at $have, not $LLAMA_CPP_COMMIT" >&2; exit 1 ;; esac
fi
if ! command -v cmake >/dev/null || ! command -v g++ >/dev/null; then
  [ "$(id -u)" = 0 ] || { echo "install cmake and g++ first" >&2; exit 1; }
  apt-get install -y -q cmake g++ >/dev/null
fi
case $ISA in
  native) lbuild=$WORK/llama-build; isa_flags=(-DGGML_NATIVE=ON); sdtp_env=() ;;
  avx2) lbuild=$WORK/llama-build-avx2; isa_flags=(-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON)
    sdtp_env=(GODEBUG=cpu.avx512f=off) ;;
  *) echo "ISA $ISA: want native or avx2" >&2; exit 1 ;;
esac
if ! [ -x "$lbuild/bin/llama-bench" ] || ! [ -x "$lbuild/bin/llama-quantize" ]; then
  log "building llama.cpp $LLAMA_CPP_COMMIT ($ISA)"
  cmake -S "$LLAMA_CPP_SRC" -B "$lbuild" -DCMAKE_BUILD_TYPE=Release "${isa_flags[@]}" -DGGML_OPENMP=ON \
    -DGGML_BLAS=OFF -DLLAMA_CURL=OFF -DBUILD_SHARED_LIBS=OFF >"$WORK/cmake-$ISA.log"
  cmake --build "$lbuild" -j"$(nproc)" --target llama-bench llama-convert-llama2c-to-ggml llama-quantize >"$WORK/build-$ISA.log"
fi

# 2. sdtp.
log "building sdtp"
build_sdtp() { # source tree, binary
  if [ -x "$1/scripts/build.sh" ]; then "$1/scripts/build.sh" "$2" >/dev/null; else (cd "$1" && go build -o "$2" ./cmd/sdtp); fi
}
build_sdtp "$repo" "$WORK/bin/sdtp"
# The revisions timed, taken now: the trees may change while the rounds run.
rev() { git -C "$1" rev-parse --short HEAD 2>/dev/null || echo unknown; }
sdtp_rev=$(rev "$repo")$(git -C "$repo" diff --quiet HEAD -- . 2>/dev/null || echo "+changes")
base_rev=""
(cd "$repo" && go build -o "$WORK/bin/llama2cgen" ./tools/llama2cgen)
engines="llama sdtp"
if [ -n "${SDTP_BASE:-}" ]; then
  build_sdtp "$SDTP_BASE" "$WORK/bin/sdtp-base"
  base_rev=$(rev "$SDTP_BASE")
  engines="llama sdtp sdtp-base"
fi

# 3. The model, in both engines' formats.
m=$WORK/model
if ! [ -f "$m/model.bin" ] || ! [ -d "$m/hf-f16" ]; then
  log "making the random-weight model"
  "$WORK/bin/llama2cgen" -out "$m" -dim 896 -ffn 4864 -layers 24 -heads 14 -kv-heads 2 -vocab 32000 -hf bf16,f16
fi
if ! [ -f "$m/model-f32.gguf" ]; then
  log "converting with llama.cpp's llama2c converter"
  "$lbuild/bin/llama-convert-llama2c-to-ggml" --copy-vocab-from-model "$m/tokenizer.bin" \
    --llama2c-model "$m/model.bin" --llama2c-output-model "$m/model-f32.gguf" >"$WORK/convert.log" 2>&1
fi
for t in BF16 F16; do
  lt=$(echo "$t" | tr A-Z a-z)
  [ -f "$m/model-$lt.gguf" ] || "$lbuild/bin/llama-quantize" "$m/model-f32.gguf" "$m/model-$lt.gguf" "$t" >"$WORK/quantize-$lt.log" 2>&1
done
sdtp_model() { case $1 in f32) echo "$m/model.bin" ;; *) echo "$m/hf-$1" ;; esac; }

# 4. Interleaved rounds.
runs=$WORK/runs/$(date -u +%Y%m%dT%H%M%SZ)-$ISA
mkdir -p "$runs"
llama() { # dtype threads round
  "$lbuild/bin/llama-bench" -m "$m/model-$1.gguf" -t "$2" -p $PROMPT -n $GEN -r 1 -o json \
    >"$runs/llama-$1-t$2-r$3.json" 2>"$runs/llama-$1-t$2-r$3.log"
}
sdtp_run() { # binary dtype threads round
  local common=(bench --backend cpu --model "$(sdtp_model "$2")" --threads "$3" --configs baseline --warmup 1 --repeats 1 --no-plots)
  local out=$runs/$1-$2-t$3-r$4
  env "${sdtp_env[@]}" "$WORK/bin/$1" "${common[@]}" --lengths $PROMPT --new-tokens 1 --out "$out-prefill" >"$out-prefill.log" 2>&1
  env "${sdtp_env[@]}" "$WORK/bin/$1" "${common[@]}" --lengths 1 --new-tokens $((GEN + 1)) --out "$out-decode" >"$out-decode.log" 2>&1
}
run_engine() { # engine dtype threads round
  case $1 in llama) llama "$2" "$3" "$4" ;; *) sdtp_run "$@" ;; esac
}
load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "load_start $(load)" >"$runs/load"
for r in $(seq 1 "$ROUNDS"); do
  for dt in $DTYPES; do
    for t in $THREADS; do
      log "round $r/$ROUNDS: $dt, $t threads (load $(load))"
      order=$engines
      [ $((r % 2)) = 1 ] || order=$(echo "$engines" | tr ' ' '\n' | tac | tr '\n' ' ')
      for e in $order; do run_engine "$e" "$dt" "$t" "$r"; done
    done
  done
done
echo "load_end $(load)" >>"$runs/load"

# 5. The table.
python3 - "$runs" "$PROMPT" "$GEN" "$DTYPES" "$THREADS" "$LLAMA_CPP_COMMIT" "$sdtp_rev" "$base_rev" "$ISA" <<'EOF'
import glob, json, os, platform, statistics, subprocess, sys

runs, prompt, gen, dtypes, threads, lcommit, srev, brev, isa = sys.argv[1:]
prompt, gen = int(prompt), int(gen)

def llama(dt, t, test):  # test: "pp" or "tg"
    out = []
    for f in sorted(glob.glob(f"{runs}/llama-{dt}-t{t}-r*.json")):
        for row in json.load(open(f)):
            if (test == "pp" and row["n_prompt"] == prompt and row["n_gen"] == 0) or \
               (test == "tg" and row["n_gen"] == gen and row["n_prompt"] == 0):
                out += row["samples_ts"]
    return out

def sdtp(dt, t, test, engine="sdtp"):
    out = []
    for d in sorted(glob.glob(f"{runs}/{engine}-{dt}-t{t}-r*-{'prefill' if test == 'pp' else 'decode'}")):
        row = json.load(open(f"{d}/bench.json"))["rows"][0]
        if test == "pp":
            out += [prompt / s for s in row["prefill_seconds"]["samples"]]
        else:
            out += [gen / s for s in row["decode_seconds"]["samples"]]
    return out

cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
flags = open("/proc/cpuinfo").read()
cpuisa = "AVX-512" if " avx512f" in flags else "AVX2" if " avx2" in flags else "no AVX2"
load = dict(l.split(" ", 1) for l in open(f"{runs}/load").read().splitlines())
print(f"machine: {cpu}, {os.cpu_count()} cores ({cpuisa}; kernels: {isa}); date {os.path.basename(runs).split('-')[0]}; load average (1/5/15 min) at start {load['load_start']}, at end {load['load_end']}")
base = f"; before: sdtp {brev}" if brev else ""
print(f"llama.cpp {lcommit[:8]} (-O3 {'-march=native' if isa == 'native' else 'AVX2+FMA+F16C'}, OpenMP, no BLAS; llama-bench -p {prompt} -n {gen}); sdtp {srev} (sdtp bench){base}; medians of the rounds' samples")
print()
if brev:
    print("| tok/s | llama.cpp | sdtp before | ratio before | sdtp | ratio |")
    print("|---|---|---|---|---|---|")
else:
    print("| tok/s | llama.cpp | sdtp | ratio |")
    print("|---|---|---|---|")
med = lambda v: statistics.median(v) if v else float("nan")
for dt in dtypes.split():
    for t in threads.split():
        for test, label in (("pp", f"prefill {prompt}"), ("tg", "decode")):
            a, b = med(llama(dt, t, test)), med(sdtp(dt, t, test))
            row = f"| {dt.upper()}, {t} thread{'s' if t != '1' else ''}, {label} | {a:.1f} |"
            if brev:
                c = med(sdtp(dt, t, test, "sdtp-base"))
                row += f" {c:.1f} | {c / a:.2f} |"
            print(row + f" {b:.1f} | {b / a:.2f} |")
print()
print(f"(raw runs: {runs})")
EOF
