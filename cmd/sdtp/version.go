package main

import "github.com/sdtp/sdtp/internal/version"

// versionString is what `sdtp version` prints after "sdtp".
func versionString() string {
	rev := version.Revision()
	if rev == version.Unknown {
		rev = "git revision unknown: the go command stamped none (as with -buildvcs=false); scripts/build.sh links it in"
	}
	return version.Version + " (" + rev + ")"
}
