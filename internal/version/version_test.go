package version

import (
	"runtime/debug"
	"testing"
)

func TestRevisionOf(t *testing.T) {
	const full = "0123456789abcdef0123456789abcdef01234567"
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	for _, tc := range []struct {
		name   string
		linked string
		info   *debug.BuildInfo
		want   string
	}{
		{"no build info", "", nil, Unknown},
		{"linked in wins", "abc+dirty", &debug.BuildInfo{Settings: vcs(full, "false")}, "abc+dirty"},
		{"VCS stamp", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(full, "false")}, full},
		{"VCS stamp of a modified tree", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(full, "true")}, full + "+dirty"},
		{"-buildvcs=false in a checkout", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, Unknown},
		{"go install @commit (pseudo-version)", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261126132337-0123456789ab"}}, "0123456789ab"},
		{"pseudo-version after a tag", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.1.1-0.20261126132337-0123456789ab"}}, "0123456789ab"},
		{"pseudo-version of a modified checkout", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261126132337-0123456789ab+dirty"}}, "0123456789ab+dirty"},
		{"go install @tag", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.1.0"}}, "v0.1.0"},
		{"no main module version", "", &debug.BuildInfo{}, Unknown},
	} {
		if got := revisionOf(tc.linked, tc.info); got != tc.want {
			t.Errorf("%s: revisionOf = %q, want %q", tc.name, got, tc.want)
		}
	}
}
