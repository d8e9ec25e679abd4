// Package testdata locates the shared third-party test files: the folder
// shared/testdata beside the project's checkout (../shared/testdata from
// the project root), or $SDTP_TESTDATA.
//
// Go's test cache reruns a test only when a file it read changed, and it
// watches only files inside the module: a test that skipped because
// ../shared/testdata was absent would stay skipped, from the cache, after
// the data appeared. So the default folder is reached through the
// committed symbolic link testdata/shared (-> ../../shared/testdata),
// which lies inside the module: every os.Stat and os.Open below goes
// through it, and the cache keys on what the link leads to (absent, or
// the files with their sizes and times). $SDTP_TESTDATA is read with
// os.Getenv, which the cache also records.
package testdata

import (
	"os"
	"path/filepath"
	"testing"
)

// EnvVar names the environment variable that overrides the default folder.
const EnvVar = "SDTP_TESTDATA"

// linkPath is the symbolic link to the shared folder, relative to the
// module root.
var linkPath = filepath.Join("testdata", "shared")

// Dir returns the shared test data folder, or "" when it cannot be found.
func Dir() string {
	if d := os.Getenv(EnvVar); d != "" {
		return d
	}
	root, err := moduleRoot()
	if err != nil {
		return ""
	}
	if st, err := os.Stat(filepath.Join(root, linkPath)); err == nil && st.IsDir() {
		return filepath.Join(root, linkPath)
	}
	// A checkout without the link (symbolic links not checked out as
	// such): the folder itself, which the test cache does not watch.
	if st, err := os.Stat(filepath.Join(root, "..", "shared", "testdata")); err == nil && st.IsDir() {
		return filepath.Join(root, "..", "shared", "testdata")
	}
	return ""
}

// Path returns the path of rel inside the shared test data folder, and skips
// the test with a clear message when the file is absent.
func Path(t testing.TB, rel string) string {
	t.Helper()
	d := Dir()
	if d == "" {
		t.Skipf("shared test data not found (see README.md, Tests: set %s or place the data at ../shared/testdata); skipping", EnvVar)
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
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "testdata", rel)
}

// moduleRoot returns the folder holding go.mod, walking up from the
// working directory (a test's package folder).
func moduleRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", &os.PathError{Op: "find", Path: "go.mod above " + wd, Err: os.ErrNotExist}
		}
	}
}
