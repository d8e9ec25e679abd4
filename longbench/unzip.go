package longbench

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// maxEntryBytes bounds one unpacked file (the largest official file is
// well under 100 MB).
const maxEntryBytes = 1 << 30

// Unpack extracts the official data files from zipPath into dir/data,
// atomically: everything is extracted into a staging folder beside it and
// validated first, and only a complete, valid set replaces dir/data. On any
// error nothing of the new data is left behind and an existing dir/data is
// untouched.
func Unpack(zipPath, dir string) ([]FileCheck, error) {
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		return nil, fmt.Errorf("%s is not a valid zip archive (%v); delete it and download again", zipPath, err)
	}
	defer zr.Close()
	entries := map[string]*zip.File{}
	for _, f := range zr.File {
		entries[strings.TrimPrefix(f.Name, "./")] = f
	}
	stage, err := os.MkdirTemp(dir, ".data-unpack-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(stage)
	if err := os.Mkdir(filepath.Join(stage, "data"), 0o755); err != nil {
		return nil, err
	}
	var checks []FileCheck
	for _, fc := range dataFiles() {
		zf, ok := entries[fc.File]
		if !ok {
			return nil, fmt.Errorf("%s lacks %s: not the LongBench data.zip", zipPath, fc.File)
		}
		if err := extract(zf, filepath.Join(stage, fc.File)); err != nil {
			return nil, fmt.Errorf("%s is damaged: %s: %w; delete it and download again", zipPath, fc.File, err)
		}
	}
	checks = Validate(stage)
	for _, c := range checks {
		if len(c.Problems) > 0 {
			return checks, fmt.Errorf("%s: %s is not valid LongBench data: %s", zipPath, c.File, c.Problems[0])
		}
	}
	return checks, replaceDir(filepath.Join(stage, "data"), filepath.Join(dir, "data"))
}

// extract writes one zip entry to path, failing on a bad checksum or an
// oversized entry.
func extract(zf *zip.File, path string) error {
	if zf.UncompressedSize64 > maxEntryBytes {
		return fmt.Errorf("%d bytes unpacked, more than the %d allowed", zf.UncompressedSize64, maxEntryBytes)
	}
	rc, err := zf.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	n, err := io.Copy(out, io.LimitReader(rc, maxEntryBytes+1))
	if err == nil && n > maxEntryBytes {
		err = errors.New("entry larger than its header says")
	}
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// replaceDir moves src to dst, replacing an existing dst; the old dst is
// moved aside first and restored if the move fails.
func replaceDir(src, dst string) error {
	old := ""
	if _, err := os.Stat(dst); err == nil {
		old = dst + ".old"
		os.RemoveAll(old)
		if err := os.Rename(dst, old); err != nil {
			return fmt.Errorf("moving the old %s aside: %w", dst, err)
		}
	}
	if err := os.Rename(src, dst); err != nil {
		if old != "" {
			os.Rename(old, dst)
		}
		return fmt.Errorf("placing %s: %w", dst, err)
	}
	if old != "" {
		return os.RemoveAll(old)
	}
	return nil
}
