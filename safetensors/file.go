// Package safetensors reads and writes the Hugging Face safetensors format:
// an 8-byte little-endian header length, a JSON header naming each tensor's
// dtype, shape and byte range, then the raw little-endian tensor data.
//
// Files are memory-mapped read-only; tensors alias the mapping, so a model's
// weights are never copied on load. Dtypes are plain strings ("F32", "BF16",
// "F16") so the package depends on nothing above it.
package safetensors

import (
	"encoding/binary"
	"fmt"

	"github.com/sdtp/sdtp/internal/mmap"
)

// Tensor is one named tensor. Data holds the raw little-endian elements; for
// a tensor read from a File it aliases the read-only mapping, must not be
// written, and is valid only until the File is closed.
type Tensor struct {
	Name  string
	DType string
	Shape []int
	Data  []byte
}

// File is an open, validated safetensors file. Its read methods are safe for
// concurrent use; Close must not race with them.
type File struct {
	path string
	data []byte // the whole mapping; nil once closed
	hdr  *header
}

// Open maps path read-only and validates its header: the header length
// against the file size, every tensor's data offsets (in range, begin <= end,
// no overlaps) and, for every dtype of known size, size == product(shape) *
// dtype size. Errors name the file and, where one is at fault, the tensor.
func Open(path string) (*File, error) {
	return mmap.MapWith(path, func(data []byte) (*File, error) {
		hdr, err := parseHeader(path, data)
		return &File{path: path, data: data, hdr: hdr}, err
	})
}

// Path returns the path the file was opened with.
func (f *File) Path() string { return f.path }

// Names returns the tensor names in sorted order.
func (f *File) Names() []string { return append([]string(nil), f.hdr.names...) }

// Has reports whether the file holds a tensor called name.
func (f *File) Has(name string) bool {
	_, ok := f.hdr.entries[name]
	return ok
}

// Metadata returns a copy of the header's __metadata__ map (empty if absent).
func (f *File) Metadata() map[string]string {
	m := make(map[string]string, len(f.hdr.metadata))
	for k, v := range f.hdr.metadata {
		m[k] = v
	}
	return m
}

// Tensor returns the tensor called name, its Data aliasing the mapping. It
// fails for a missing name, for a dtype other than F32, BF16 and F16, and
// after Close.
func (f *File) Tensor(name string) (Tensor, error) {
	return f.stored(name, func(dtype string) error {
		if !Supported(dtype) {
			return fmt.Errorf("dtype %s is not supported (want F32, BF16 or F16)", dtype)
		}
		return nil
	})
}

// Int32s decodes the I32 tensor called name (token ids, say) into a new
// slice, with its shape. It fails for a missing name, another dtype, and
// after Close.
func (f *File) Int32s(name string) ([]int32, []int, error) {
	t, err := f.stored(name, func(dtype string) error {
		if dtype != "I32" {
			return fmt.Errorf("dtype %s, want I32", dtype)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	out := make([]int32, len(t.Data)/4)
	for i := range out {
		out[i] = int32(binary.LittleEndian.Uint32(t.Data[4*i:]))
	}
	return out, t.Shape, nil
}

// stored returns the tensor called name as stored, its Data aliasing the
// mapping, if check accepts its dtype; it fails for a missing name and
// after Close.
func (f *File) stored(name string, check func(dtype string) error) (Tensor, error) {
	e, ok := f.hdr.entries[name]
	if !ok {
		return Tensor{}, fmt.Errorf("%s: tensor %q not found", f.path, name)
	}
	if err := check(e.dtype); err != nil {
		return Tensor{}, fmt.Errorf("%s: tensor %q: %w", f.path, name, err)
	}
	if f.data == nil {
		return Tensor{}, fmt.Errorf("%s: tensor %q: file is closed", f.path, name)
	}
	lo, hi := f.hdr.dataStart+e.begin, f.hdr.dataStart+e.end
	return Tensor{
		Name:  name,
		DType: e.dtype,
		Shape: append([]int{}, e.shape...),
		Data:  f.data[lo:hi:hi],
	}, nil
}

// Close unmaps the file. Tensors obtained from it must not be used afterwards.
func (f *File) Close() error {
	return mmap.Release(f.path, &f.data)
}
