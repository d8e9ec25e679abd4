#!/usr/bin/env bash
# Prints the -ldflags value that links the checkout's git revision into
# sdtp ("+dirty" when tracked files differ from HEAD), for builds where the
# go command stamps none (GOFLAGS=-buildvcs=false) or for a copy of the
# binary carried elsewhere. Used by build.sh and build-gpu.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
rev=$(git rev-parse HEAD)$(git diff --quiet HEAD -- . || echo +dirty)
echo "-X github.com/sdtp/sdtp/internal/version.buildRevision=$rev"
