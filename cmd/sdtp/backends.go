package main

// The backends sdtp ships; each registers itself with package backend.
import (
	_ "github.com/sdtp/sdtp/backend/cpu"
	_ "github.com/sdtp/sdtp/backend/cuda"
)
