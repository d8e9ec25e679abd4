// Package version reports the program version and the git revision it was
// built from (read from the build info Go embeds).
package version

import "runtime/debug"

// Version is the release version of sdtp.
const Version = "0.1.0-dev"

// Revision returns the VCS revision the binary was built from, with a
// "+dirty" suffix for modified trees, or "unknown".
func Revision() string {
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
