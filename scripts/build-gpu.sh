#!/usr/bin/env bash
# Builds, on this machine (the GPU machine has no Go), everything one GPU
# device call needs into .gpu/all (git-ignored), and packs it into
# .gpu/pack/all.tar.xz (the unpacked 60 MB do not fit the device tool's 64
# MiB; name .gpu/pack in its carry, and the GPU scripts unpack it there; PACK
# below chooses part of it): the sdtp binary, the cudabench kernel and layer-stack
# benchmark, tools/lccgen (the proxy evidence's code task), and the test binaries of the CUDA backend, of the model
# (transformers parity on the GPU), of GPU training (train/dlm saliency
# and gradients, train's objective) and of H2O (run it from h2o/: its
# float64 reference reads testdata/parity), with the shared test files those read
# and the LongBench length distribution of the throughput benchmark
# (../shared/testdata does not travel; run the tests with
# SDTP_TESTDATA=.gpu/all/testdata). The git revision is linked in, since
# the copy on the GPU machine has no repository.
set -euo pipefail
cd "$(dirname "$0")/.."
ld="-s -w $(scripts/ldflags.sh)"
mkdir -p .gpu/all
export CGO_ENABLED=0
go build -ldflags "$ld" -o .gpu/all/sdtp ./cmd/sdtp
go build -ldflags "$ld" -o .gpu/all/cudabench ./cmd/cudabench
go build -ldflags "$ld" -o .gpu/all/lccgen ./tools/lccgen
go test -c -ldflags "$ld" -o .gpu/all/cuda.test ./backend/cuda
go test -c -ldflags "$ld" -o .gpu/all/model.test ./model
go test -c -ldflags "$ld" -o .gpu/all/dlm.test ./train/dlm
go test -c -ldflags "$ld" -o .gpu/all/train.test ./train
go test -c -ldflags "$ld" -o .gpu/all/h2o.test ./h2o
shared=${SDTP_TESTDATA:-../shared/testdata}
if [ -d "$shared/llama2c" ]; then
  mkdir -p .gpu/all/testdata/llama2c
  cp "$shared/llama2c/stories260K.bin" "$shared/llama2c/tok512.bin" .gpu/all/testdata/llama2c/
fi
# LongBench's official llama2-7b-chat predictions (3.8 MB): the length
# distribution of 'sdtp bench throughput --workload longbench'.
if [ -d "$shared/longbench/pred/llama2-7b-chat" ]; then
  mkdir -p .gpu/all/testdata/longbench/pred
  cp -r "$shared/longbench/pred/llama2-7b-chat" .gpu/all/testdata/longbench/pred/
fi
# The pack: everything, or (PACK) only the named files and folders of .gpu/all,
# e.g. PACK="sdtp s260 testdata/llama2c" (paths under .gpu/all). The device tool carries at most
# 64 MiB with the tracked tree, which the proxy model (testdata/proxy, 44 MB)
# mostly fills: the whole pack (about 22 MB) no longer fits beside it.
mkdir -p .gpu/pack
rm -f .gpu/pack/all.tar.xz
if [ -n "${PACK:-}" ]; then
  files=()
  for f in $PACK; do files+=("all/$f"); done
  tar -C .gpu -cJf .gpu/pack/all.tar.xz "${files[@]}"
else
  tar -C .gpu -cJf .gpu/pack/all.tar.xz all
fi
tree=$(git ls-files -z | xargs -0 stat -c %s | awk '{s += $1} END {print s}')
pack=$(du -b .gpu/pack/all.tar.xz | cut -f1)
echo "built .gpu/all and .gpu/pack/all.tar.xz (${PACK:-everything}) at ${ld##*=}"
echo "tracked tree $((tree >> 20)) MiB + pack $((pack >> 20)) MiB = $(((tree + pack) >> 20)) MiB of the device tool's 64"
[ $((tree + pack)) -lt $((64 << 20)) ] || echo "too large for one device call: choose fewer files with PACK" >&2
