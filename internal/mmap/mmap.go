// Package mmap maps whole files read-only, for the weight readers that use
// tensors in place.
package mmap

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Map maps the whole of path read-only. An empty file maps to an empty,
// non-nil slice.
func Map(path string) ([]byte, error) {
	fd, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fd.Close()
	st, err := fd.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	size := st.Size()
	if size == 0 {
		return []byte{}, nil
	}
	if size != int64(int(size)) {
		return nil, fmt.Errorf("%s: file of %d bytes is too large to map", path, size)
	}
	data, err := unix.Mmap(int(fd.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("%s: mmap: %w", path, err)
	}
	return data, nil
}

// Unmap releases a mapping made by Map.
func Unmap(data []byte) error {
	if len(data) == 0 {
		return nil
	}
	return unix.Munmap(data)
}

// MapWith maps the whole of path and returns what parse makes of the
// mapping, which it may keep; when parse fails, the mapping is released.
func MapWith[T any](path string, parse func(data []byte) (T, error)) (T, error) {
	var zero T
	data, err := Map(path)
	if err != nil {
		return zero, err
	}
	v, err := parse(data)
	if err != nil {
		_ = Unmap(data)
		return zero, err
	}
	return v, nil
}

// Release unmaps *data, the mapping of path, and sets it to nil, so that a
// second call does nothing; an error names path.
func Release(path string, data *[]byte) error {
	if *data == nil {
		return nil
	}
	err := Unmap(*data)
	*data = nil
	if err != nil {
		return fmt.Errorf("%s: unmap: %w", path, err)
	}
	return nil
}
