#!/usr/bin/env bash
# Builds the sdtp binary (default ./sdtp, or the path given) with the git
# revision linked in, so `sdtp version` and every result's meta block name
# it whatever GOFLAGS says about -buildvcs.
set -euo pipefail
cd "$(dirname "$0")/.."
ld=$(scripts/ldflags.sh)
CGO_ENABLED=0 go build -ldflags "$ld" -o "${1:-sdtp}" ./cmd/sdtp
echo "built ${1:-sdtp} (${ld##*=})"
