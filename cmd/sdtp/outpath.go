package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// checkOutFile refuses, before any long work, an output file path that
// could not be written at the end: an existing folder, or a path whose
// folder does not exist. flag names the flag for the error.
func checkOutFile(flag, path string) error {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("%s %s is a folder; give a file path", flag, path)
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case err != nil:
		return fmt.Errorf("%s %s: its folder cannot be used: %w", flag, path, err)
	case !fi.IsDir():
		return fmt.Errorf("%s %s: %s is not a folder", flag, path, dir)
	}
	return nil
}
