package cuda

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	"github.com/sdtp/sdtp/backend"
)

// tensor is a rows×cols activation matrix in device memory (bf16, or
// float32 in "cuda-f32").
type tensor struct {
	ptr        uintptr
	rows, cols int
	view       bool
}

func (t *tensor) Rows() int { return t.rows }
func (t *tensor) Cols() int { return t.cols }

func (t *tensor) elems() int { return t.rows * t.cols }

// aligned16 says whether 16-byte vector access is allowed.
func aligned16(ps ...uintptr) bool {
	for _, p := range ps {
		if p%16 != 0 {
			return false
		}
	}
	return true
}

// weight is a read-only parameter matrix, held on the device as bf16 (as
// float32 in "cuda-f32").
type weight struct {
	ptr        uintptr
	rows, cols int
	dt         backend.DType // as given by the caller
}

// addr is the weight's device address, 0 for a nil weight (an absent bias).
func (w *weight) addr() uintptr {
	if w == nil {
		return 0
	}
	return w.ptr
}

func (w *weight) Rows() int            { return w.rows }
func (w *weight) Cols() int            { return w.cols }
func (w *weight) DType() backend.DType { return w.dt }
func (w *weight) String() string       { return fmt.Sprintf("%v %d×%d", w.dt, w.rows, w.cols) }
func (t *tensor) String() string       { return fmt.Sprintf("%d×%d", t.rows, t.cols) }
func (v *ints) String() string         { return fmt.Sprintf("ints[%d]", len(v.host)) }
func (v *ints) Len() int               { return len(v.host) }
func asTensor(op string, t backend.Tensor) *tensor {
	c, ok := t.(*tensor)
	if !ok || c == nil {
		panic(fmt.Sprintf("cuda: %s: tensor %T is not from the cuda backend", op, t))
	}
	return c
}

func asWeight(op string, w backend.Weight) *weight {
	c, ok := w.(*weight)
	if !ok || c == nil {
		panic(fmt.Sprintf("cuda: %s: weight %T is not from the cuda backend", op, w))
	}
	return c
}

func asInts(op string, v backend.Ints) *ints {
	c, ok := v.(*ints)
	if !ok || c == nil {
		panic(fmt.Sprintf("cuda: %s: ints %T are not from the cuda backend", op, v))
	}
	return c
}

// ints is an int32 vector on the device, with a host copy for checks.
type ints struct {
	ptr  uintptr
	host []int32
}

// New allocates an uninitialised rows×cols tensor. On allocation failure it
// records the sticky error (returned by Sync) and returns a tensor that
// every op skips.
func (b *Backend) New(rows, cols int) backend.Tensor {
	if rows < 0 || cols < 0 {
		panic(fmt.Sprintf("cuda: New(%d, %d): negative size", rows, cols))
	}
	b.enter()
	defer b.leave()
	return b.newTensor(rows, cols)
}

func (b *Backend) newTensor(rows, cols int) *tensor {
	t := &tensor{rows: rows, cols: cols}
	if b.err != nil {
		return t
	}
	p, err := b.alloc(int64(rows) * int64(cols) * int64(b.esize))
	b.fail(err)
	t.ptr = p
	return t
}

// Free releases a tensor made by New or FromHost; views are ignored.
func (b *Backend) Free(t backend.Tensor) {
	c := asTensor("Free", t)
	if c.view || c.ptr == 0 {
		return
	}
	b.enter()
	defer b.leave()
	b.free(c.ptr)
	c.ptr = 0
}

// View returns rows [row, row+n) of t, sharing its memory.
func (b *Backend) View(t backend.Tensor, row, n int) backend.Tensor {
	c := asTensor("View", t)
	if row < 0 || n < 0 || row+n > c.rows {
		panic(fmt.Sprintf("cuda: View rows [%d, %d) of a %d×%d tensor", row, row+n, c.rows, c.cols))
	}
	p := c.ptr
	if p != 0 {
		p += uintptr(row * c.cols * b.esize)
	}
	return &tensor{ptr: p, rows: n, cols: c.cols, view: true}
}

// FromHost copies data (rows×cols float32) into a new bf16 tensor.
func (b *Backend) FromHost(data []float32, rows, cols int) backend.Tensor {
	if len(data) != rows*cols {
		panic(fmt.Sprintf("cuda: FromHost: %d values for a %d×%d tensor", len(data), rows, cols))
	}
	b.enter()
	defer b.leave()
	t := b.newTensor(rows, cols)
	if b.err != nil {
		return t
	}
	if b.f32 {
		b.upload(t.ptr, 4*len(data), func(buf []byte, off int) {
			src := data[off/4:]
			for i := 0; i < len(buf)/4; i++ {
				binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(src[i]))
			}
		})
		return t
	}
	b.upload(t.ptr, 2*len(data), func(buf []byte, off int) {
		src := data[off/2:]
		for i := 0; i < len(buf)/2; i++ {
			binary.LittleEndian.PutUint16(buf[2*i:], backend.F32ToBF16(src[i]))
		}
	})
	return t
}

// ToHost copies t into dst, widening bf16 to float32; it waits for queued
// work. After a device error dst is left unchanged.
func (b *Backend) ToHost(dst []float32, t backend.Tensor) {
	c := asTensor("ToHost", t)
	if len(dst) != c.elems() {
		panic(fmt.Sprintf("cuda: ToHost: %d values for a %s tensor", len(dst), c))
	}
	b.enter()
	defer b.leave()
	if b.err != nil || len(dst) == 0 {
		return
	}
	if b.f32 {
		b.download(c.ptr, 4*len(dst), func(buf []byte, off int) {
			src := unsafe.Slice((*float32)(unsafe.Pointer(&buf[0])), len(buf)/4)
			copy(dst[off/4:], src)
		})
		return
	}
	b.download(c.ptr, 2*len(dst), func(buf []byte, off int) {
		// The staging buffer is C memory, 2-byte aligned, little-endian
		// like the device: read it as bf16 values directly.
		src := unsafe.Slice((*uint16)(unsafe.Pointer(&buf[0])), len(buf)/2)
		out := dst[off/2 : off/2+len(src)]
		for i, v := range src {
			out[i] = math.Float32frombits(uint32(v) << 16)
		}
	})
}

// Ints copies v to the device.
func (b *Backend) Ints(v []int32) backend.Ints {
	b.enter()
	defer b.leave()
	out := &ints{host: append([]int32(nil), v...)}
	if b.err != nil || len(v) == 0 {
		return out
	}
	p, err := b.alloc(int64(4 * len(v)))
	b.fail(err)
	if err != nil {
		return out
	}
	out.ptr = p
	b.upload(p, 4*len(v), func(buf []byte, off int) {
		src := v[off/4:]
		for i := 0; i < len(buf)/4; i++ {
			binary.LittleEndian.PutUint32(buf[4*i:], uint32(src[i]))
		}
	})
	return out
}

// FreeInts releases an index vector.
func (b *Backend) FreeInts(v backend.Ints) {
	c := asInts("FreeInts", v)
	if c.ptr == 0 {
		return
	}
	b.enter()
	defer b.leave()
	b.free(c.ptr)
	c.ptr = 0
}
