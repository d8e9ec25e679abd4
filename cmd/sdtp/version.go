package main

import "github.com/sdtp/sdtp/internal/version"

func versionString() string { return version.Version + " (" + version.Revision() + ")" }
