// Package testdata locates the shared third-party test files
// (../shared/testdata beside the project root, or $SDTP_TESTDATA).
package testdata

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the shared test data folder, or "" when it cannot be found.
func Dir() string {
	if d := os.Getenv("SDTP_TESTDATA"); d != "" {
		return d
	}
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			td := filepath.Join(d, "..", "shared", "testdata")
			if _, err := os.Stat(td); err == nil {
				return td
			}
			return ""
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// Path returns the path of rel inside the shared test data folder, and skips
// the test with a clear message when the file is absent.
func Path(t testing.TB, rel string) string {
	t.Helper()
	d := Dir()
	if d == "" {
		t.Skipf("shared test data not found (set SDTP_TESTDATA or place it at ../shared/testdata); skipping")
	}
	p := filepath.Join(d, rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared test file %s absent: %v", p, err)
	}
	return p
}

// RepoPath returns the absolute path of rel inside the project's own
// testdata folder (committed files), found by walking up to go.mod.
func RepoPath(t testing.TB, rel string) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "testdata", rel)
		}
		if filepath.Dir(d) == d {
			t.Fatalf("go.mod not found above %s", wd)
		}
	}
}
