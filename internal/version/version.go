// Package version reports the program version and the git revision it was
// built from.
package version

import (
	"regexp"
	"runtime/debug"
)

// Version is the release version of sdtp.
const Version = "0.1.0-dev"

// Unknown is the revision of a binary that carries none.
const Unknown = "unknown"

// buildRevision is set at link time by scripts/build.sh and
// scripts/build-gpu.sh, so a binary names its revision where the go command
// stamps none (GOFLAGS=-buildvcs=false, a copy of the tree without .git):
//
//	go build -ldflags "-X github.com/sdtp/sdtp/internal/version.buildRevision=$(git rev-parse HEAD)" ./cmd/sdtp
var buildRevision string

// Revision returns the git revision the binary was built from (with a
// "+dirty" suffix for a modified tree), the module version it was
// installed at, or Unknown. See revisionOf for the order of the sources.
func Revision() string {
	info, _ := debug.ReadBuildInfo()
	return revisionOf(buildRevision, info)
}

// pseudoVersion matches the end of a Go pseudo-version
// (v0.0.0-20260102150405-abcdef123456, v1.2.4-0.20260102150405-abcdef123456,
// with "+dirty" where the go command stamped a modified checkout): the
// commit's 12-digit hash prefix after a 14-digit UTC timestamp.
var pseudoVersion = regexp.MustCompile(`[-.][0-9]{14}-([0-9a-f]{12})(\+dirty)?$`)

// revisionOf picks the revision from, in order: the one linked in with -X;
// the VCS stamp the go command embeds when it builds in a checkout
// (vcs.revision, vcs.modified); the main module's version, which
// `go install github.com/sdtp/sdtp/cmd/sdtp@VERSION` records: a
// pseudo-version ends in the commit's hash prefix and a release tag names
// its commit. It never looks at the file system: an installed binary would
// report whatever checkout it happened to run in.
func revisionOf(linked string, info *debug.BuildInfo) string {
	if linked != "" {
		return linked
	}
	if info == nil {
		return Unknown
	}
	rev, dirty := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev != "" {
		if dirty {
			rev += "+dirty"
		}
		return rev
	}
	v := info.Main.Version
	if m := pseudoVersion.FindStringSubmatch(v); m != nil {
		return m[1] + m[2]
	}
	if v != "" && v != "(devel)" {
		return v
	}
	return Unknown
}
