#!/usr/bin/env bash
# The quality-versus-speed evidence of docs/QUALITY.md (issue 15, part 2), with
# sdtp on the proxy model of scripts/proxy/pretrain.py:
#   RULER  baseline, then per schedule: trained module (where given), random
#          scores and keep-most-recent; report and accuracy-against-length plot
#   lcc    the lcc-style code task of tools/lccgen over the proxy's held-out files:
#          full context, near context only (the last TAIL tokens), and the
#          schedules' configurations; LongBench's code_sim, report
#   speed  sdtp bench of the schedules (prefill and end-to-end speedup, FLOPs ratio)
# Every run folder resumes, so the script can be stopped and run again.
#
#   PROXY=runs/proxy SDTP=./sdtp WORK=runs/quality scripts/proxy/evidence.sh
#
# Environment: PROXY (the proxy's HF folder, with heldout.jsonl beside its files, or,
# like testdata/proxy, the lcc rows in lcc/),
# SDTP (the sdtp binary), WORK (output), BACKEND (cpu), SCHEDULES (paper-scaled
# keep0.8-scaled keep0.7-scaled), MODULE_<schedule with - and . as _> (a trained
# module for that schedule, e.g. MODULE_paper_scaled=runs/proxy-paper.safetensors),
# RULER_TASKS (all), RULER_LENGTHS (4K,8K), RULER_SAMPLES (20), LCC_ROWS (100),
# LCC_MIN_TOKENS and LCC_MAX_TOKENS (2048, 7168), TAIL (512), H2O (unset; a KV
# budget such as 0.4 adds H2O alone and after each module: paper Table 6), BENCH_LENGTHS
# (2048,4096,8192), STEPS (ruler lcc speed), TOKENIZER (when PROXY is a model
# that does not hold its tokenizer, e.g. a llama2.c .bin for a dry run; then
# HELDOUT names the files for lcc), LCCGEN (the lcc task maker: default
# 'go run ./tools/lccgen'; a built binary where there is no Go, as on the GPU
# machine), RUN_FLAGS (more flags for every 'ruler run' and 'longbench run',
# e.g. --chat-template none), JOBS (1: configurations run one after another; N > 1 runs up to N
# at once, each in a process of its own, for a small model on a GPU).
set -euo pipefail
PROXY=${PROXY:?set PROXY to the proxy model folder}
SDTP=${SDTP:-sdtp}
WORK=${WORK:-runs/quality}
BACKEND=${BACKEND:-cpu}
SCHEDULES=${SCHEDULES:-paper-scaled keep0.8-scaled keep0.7-scaled}
STEPS=${STEPS:-ruler lcc speed}
TOK=()
[ -n "${TOKENIZER:-}" ] && TOK=(--tokenizer "$TOKENIZER")
HELDOUT=${HELDOUT:-$PROXY/heldout.jsonl}
LCCGEN=${LCCGEN:-go run ./tools/lccgen}
mkdir -p "$WORK"
has() { case " $STEPS " in *" $1 "*) return 0 ;; esac; return 1; }
module_of() { local v="MODULE_${1//[-.]/_}"; echo "${!v:-}"; }

# configs prints "name flags" lines: the baseline, then per schedule the
# trained module (if any), random scores and keep-most-recent; with H2O (a
# KV budget, e.g. 0.4: paper Table 6) also H2O alone and after each module.
configs() {
  echo "base"
  [ -n "${H2O:-}" ] && echo "h2o$H2O --h2o-budget $H2O"
  for s in $SCHEDULES; do
    m=$(module_of "$s")
    [ -n "$m" ] && echo "$s-module --prune-module $m --prune $s"
    [ -n "$m" ] && [ -n "${H2O:-}" ] && echo "$s-module+h2o$H2O --prune-module $m --prune $s --h2o-budget $H2O"
    echo "$s-random --prune $s --prune-scorer random"
    echo "$s-recent --prune $s --prune-scorer recent"
  done
}

# each NAME CMD... runs CMD for one configuration: at once (its output on the
# terminal), or with JOBS > 1 in the background with up to JOBS at a time (a
# small model leaves a GPU mostly idle; each process has its own engine), its
# output in $WORK/logs/NAME.log. A failure is marked in $WORK/logs/NAME.failed.
# settle waits for them all and fails if one did.
each() {
  local name=$1
  shift
  mkdir -p "$WORK/logs"
  rm -f "$WORK/logs/$name.failed"
  if [ "${JOBS:-1}" -le 1 ]; then
    "$@" || touch "$WORK/logs/$name.failed"
    return 0
  fi
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done
  ("$@" >"$WORK/logs/$name.log" 2>&1 || touch "$WORK/logs/$name.failed") &
}
# settle waits for the runs in the background and prints those that failed;
# ok NAME tells whether a run did not fail (the reports leave failed runs out,
# and the script exits 1 at its end).
failed=0
settle() {
  wait
  if ls "$WORK"/logs/*.failed >/dev/null 2>&1; then
    echo "evidence: these runs failed (see their logs in $WORK/logs): $(cd "$WORK/logs" && echo *.failed)" >&2
    failed=1
  fi
}
ok() { [ ! -f "$WORK/logs/$1.failed" ]; }

if has ruler; then
  while read -r name flags; do
    # shellcheck disable=SC2086
    each "ruler-$name" "$SDTP" ruler run --backend "$BACKEND" --model "$PROXY" "${TOK[@]}" --tasks "${RULER_TASKS:-all}" \
      --lengths "${RULER_LENGTHS:-4K,8K}" --samples "${RULER_SAMPLES:-20}" --out "$WORK/ruler/$name" ${RUN_FLAGS:-} $flags
  done < <(configs)
  settle
  runs=()
  while read -r name flags; do
    if ok "ruler-$name"; then runs+=("$WORK/ruler/$name"); fi
  done < <(configs)
  list=$(IFS=,; echo "${runs[*]}")
  "$SDTP" ruler report --runs "$list" --out "$WORK/ruler-report.md"
  "$SDTP" ruler plot --runs "$list" --out "$WORK/figures"
fi

if has lcc; then
  if [ ! -f "$WORK/lcc-data/data/lcc.jsonl" ] && [ ! -f "$HELDOUT" ] && [ -f "$PROXY/lcc/data/lcc.jsonl" ]; then
    mkdir -p "$WORK/lcc-data" # the committed proxy's rows (testdata/proxy/lcc), its held-out files not being committed
    cp -r "$PROXY/lcc/." "$WORK/lcc-data/"
  fi
  [ -f "$WORK/lcc-data/data/lcc.jsonl" ] || $LCCGEN -files "$HELDOUT" -tokenizer "${TOKENIZER:-$PROXY}" \
    -out "$WORK/lcc-data" -rows "${LCC_ROWS:-100}" -min-tokens "${LCC_MIN_TOKENS:-2048}" -max-tokens "${LCC_MAX_TOKENS:-7168}" \
    -tail-tokens "${TAIL:-512}"
  while read -r name flags; do
    # shellcheck disable=SC2086
    each "lcc-$name" "$SDTP" longbench run --backend "$BACKEND" --model "$PROXY" "${TOK[@]}" --data "$WORK/lcc-data/data" \
      --tasks lcc --out "$WORK/lcc/$name" ${RUN_FLAGS:-} $flags
    if [ "$name" = base ]; then
      each lcc-tail "$SDTP" longbench run --backend "$BACKEND" --model "$PROXY" "${TOK[@]}" --data "$WORK/lcc-data/tail" \
        --tasks lcc --out "$WORK/lcc/tail" ${RUN_FLAGS:-}
    fi
  done < <(configs)
  settle
  runs=()
  while read -r name flags; do
    if ok "lcc-$name"; then runs+=("$WORK/lcc/$name"); fi
    if [ "$name" = base ] && ok lcc-tail; then runs+=("$WORK/lcc/tail"); fi
  done < <(configs)
  list=$(IFS=,; echo "${runs[*]}")
  "$SDTP" longbench report --runs "$list" --out "$WORK/lcc-report.md"
fi

if has speed; then
  cfgs=baseline
  for s in $SCHEDULES; do cfgs="$cfgs,$s"; done
  "$SDTP" bench --backend "$BACKEND" --model "$PROXY" --lengths "${BENCH_LENGTHS:-2048,4096,8192}" --configs "$cfgs" \
    --out "$WORK/bench"
fi
echo "evidence in $WORK"
exit $failed
