package mmap

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestMapWithAndRelease(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	var kept []byte
	n, err := MapWith(path, func(data []byte) (int, error) {
		kept = data
		return len(data), nil
	})
	if err != nil || n != 5 || string(kept) != "hello" {
		t.Fatalf("MapWith = %d, %v; mapping %q", n, err, kept)
	}
	for i := range 2 {
		if err := Release(path, &kept); err != nil || kept != nil {
			t.Fatalf("Release #%d: %v, mapping %v", i+1, err, kept)
		}
	}

	bad := errors.New("bad header")
	n, err = MapWith(path, func(data []byte) (int, error) { return 7, bad })
	if !errors.Is(err, bad) || n != 0 {
		t.Errorf("MapWith with a failing parse = %d, %v; want 0 and its error", n, err)
	}
	if _, err := MapWith(filepath.Join(t.TempDir(), "none"), func([]byte) (int, error) {
		t.Error("parse called for a missing file")
		return 0, nil
	}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
