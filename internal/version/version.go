// Package version reports the program version and the git revision it was
// built from (read from the build info Go embeds).
package version

import "runtime/debug"

// Version is the release version of sdtp.
const Version = "0.1.0-dev"

// buildRevision is set at link time where the build has no VCS
// information (a binary built for another machine, -buildvcs=false):
//
//	go build -ldflags "-X github.com/sdtp/sdtp/internal/version.buildRevision=$(git rev-parse HEAD)" ./cmd/sdtp
var buildRevision string

// Revision returns the VCS revision the binary was built from, with a
// "+dirty" suffix for modified trees, or "unknown".
func Revision() string {
	if buildRevision != "" {
		return buildRevision
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	rev, dirty := "unknown", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty {
		rev += "+dirty"
	}
	return rev
}
