package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"

	"github.com/sdtp/sdtp/internal/atomicfile"
)

// Write stores tensors and metadata at path in the safetensors format. The
// layout is deterministic (tensors ordered by element size, largest first,
// then by name, so every tensor starts aligned to its element size; header
// padded with spaces to a multiple of 8) and the write is atomic: a temporary
// file in the same folder is written, synced and renamed over path.
func Write(path string, tensors []Tensor, metadata map[string]string) error {
	order, err := writeOrder(path, tensors)
	if err != nil {
		return err
	}
	hdr, err := encodeHeader(order, metadata)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		var lenBuf [8]byte
		binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(hdr)))
		if _, err := w.Write(lenBuf[:]); err != nil {
			return err
		}
		if _, err := w.Write(hdr); err != nil {
			return err
		}
		for _, t := range order {
			if _, err := w.Write(t.Data); err != nil {
				return err
			}
		}
		return nil
	})
}

// writeOrder validates tensors and returns them in file order.
func writeOrder(path string, tensors []Tensor) ([]Tensor, error) {
	seen := make(map[string]bool, len(tensors))
	for _, t := range tensors {
		switch {
		case t.Name == "" || t.Name == metadataKey:
			return nil, fmt.Errorf("%s: tensor %q: reserved or empty name", path, t.Name)
		case seen[t.Name]:
			return nil, fmt.Errorf("%s: tensor %q: duplicate name", path, t.Name)
		}
		seen[t.Name] = true
		size, ok := DTypeSize(t.DType)
		if !ok {
			return nil, fmt.Errorf("%s: tensor %q: unknown dtype %q", path, t.Name, t.DType)
		}
		n := 1
		for _, d := range t.Shape {
			if d < 0 {
				return nil, fmt.Errorf("%s: tensor %q: negative dimension in shape %v", path, t.Name, t.Shape)
			}
			n *= d
		}
		if len(t.Data) != n*size {
			return nil, fmt.Errorf("%s: tensor %q: %d data bytes, shape %v of %s needs %d", path, t.Name, len(t.Data), t.Shape, t.DType, n*size)
		}
	}
	order := append([]Tensor(nil), tensors...)
	sort.Slice(order, func(i, j int) bool {
		si, _ := DTypeSize(order[i].DType)
		sj, _ := DTypeSize(order[j].DType)
		if si != sj {
			return si > sj
		}
		return order[i].Name < order[j].Name
	})
	return order, nil
}

// headerEntry is one tensor's record as written.
type headerEntry struct {
	DType       string `json:"dtype"`
	Shape       []int  `json:"shape"`
	DataOffsets [2]int `json:"data_offsets"`
}

// encodeHeader returns the JSON header for tensors in file order, padded
// with spaces to a multiple of 8 bytes.
func encodeHeader(order []Tensor, metadata map[string]string) ([]byte, error) {
	m := make(map[string]any, len(order)+1)
	if len(metadata) > 0 {
		m[metadataKey] = metadata
	}
	off := 0
	for _, t := range order {
		shape := append([]int{}, t.Shape...)
		m[t.Name] = headerEntry{DType: t.DType, Shape: shape, DataOffsets: [2]int{off, off + len(t.Data)}}
		off += len(t.Data)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil { // map keys are sorted: deterministic
		return nil, err
	}
	b := bytes.TrimRight(buf.Bytes(), "\n")
	for len(b)%8 != 0 {
		b = append(b, ' ')
	}
	return b, nil
}

// NewF32 builds an F32 tensor holding values, which must number product(shape).
func NewF32(name string, shape []int, values []float32) (Tensor, error) {
	if err := checkCount(name, shape, len(values)); err != nil {
		return Tensor{}, err
	}
	data := make([]byte, 4*len(values))
	for i, v := range values {
		binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(v))
	}
	return Tensor{Name: name, DType: F32, Shape: append([]int{}, shape...), Data: data}, nil
}

// NewBF16 builds a BF16 tensor from values rounded to nearest, ties to even.
func NewBF16(name string, shape []int, values []float32) (Tensor, error) {
	if err := checkCount(name, shape, len(values)); err != nil {
		return Tensor{}, err
	}
	data := make([]byte, 2*len(values))
	for i, v := range values {
		binary.LittleEndian.PutUint16(data[2*i:], Float32ToBF16(v))
	}
	return Tensor{Name: name, DType: BF16, Shape: append([]int{}, shape...), Data: data}, nil
}

// checkCount verifies that shape holds exactly n elements.
func checkCount(name string, shape []int, n int) error {
	want := 1
	for _, d := range shape {
		if d < 0 {
			return fmt.Errorf("tensor %q: negative dimension in shape %v", name, shape)
		}
		want *= d
	}
	if want != n {
		return fmt.Errorf("tensor %q: shape %v holds %d elements, got %d values", name, shape, want, n)
	}
	return nil
}
