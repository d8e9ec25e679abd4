#!/usr/bin/env bash
# Builds, on this machine (the GPU machine has no Go), everything one GPU
# device call needs into .gpu/all (git-ignored; name it in the device
# tool's carry): the sdtp binary and the test binaries of the CUDA backend
# and of the model (transformers parity on the GPU). The git revision is
# linked in, since the copy on the GPU machine has no repository.
set -euo pipefail
cd "$(dirname "$0")/.."
rev=$(git rev-parse HEAD)$(git diff --quiet HEAD -- . ':!.gpu' || echo +dirty)
ld="-X github.com/sdtp/sdtp/internal/version.buildRevision=$rev"
mkdir -p .gpu/all
export CGO_ENABLED=0
go build -ldflags "$ld" -o .gpu/all/sdtp ./cmd/sdtp
go test -c -ldflags "$ld" -o .gpu/all/cuda.test ./backend/cuda
go test -c -ldflags "$ld" -o .gpu/all/model.test ./model
echo "built .gpu/all at $rev"
