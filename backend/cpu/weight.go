package cpu

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	"github.com/sdtp/sdtp/backend"
)

// weight is a read-only rows×cols matrix in its stored dtype. Exactly one
// of f32 and u16 is set (u16 holds bf16 or f16 bit patterns).
type weight struct {
	dt         backend.DType
	rows, cols int
	f32        []float32
	u16        []uint16
	owned      int64 // bytes allocated by the backend (0 when borrowed)
	freed      bool
	// panels is the decoding copy of a weight with long rows (panels.go),
	// made at its first GEMV; noPanels says the budget refused one.
	panels     *panels
	noPanels   bool
	panelBytes int64
}

func (w *weight) Rows() int            { return w.rows }
func (w *weight) Cols() int            { return w.cols }
func (w *weight) DType() backend.DType { return w.dt }

func asWeight(w backend.Weight) *weight {
	c, ok := w.(*weight)
	if !ok {
		panic(fmt.Sprintf("cpu backend: weight of type %T is not a cpu weight", w))
	}
	if c.freed {
		panic("cpu backend: use of a freed weight")
	}
	return c
}

// littleEndian reports whether the host stores numbers little-endian, so
// file bytes can be used in place.
var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// NewWeight wraps data (little-endian dt values, rows×cols) without copying
// it when it is suitably aligned, as mmap'd safetensors data is; otherwise
// it copies.
func (b *Backend) NewWeight(dt backend.DType, rows, cols int, data []byte) (backend.Weight, error) {
	if err := checkWeightShape(dt, rows, cols); err != nil {
		return nil, err
	}
	n := rows * cols
	if len(data) != n*dt.Size() {
		return nil, fmt.Errorf("cpu backend: %s weight %d×%d needs %d bytes, got %d", dt, rows, cols, n*dt.Size(), len(data))
	}
	w := &weight{dt: dt, rows: rows, cols: cols}
	if n == 0 {
		return w, nil
	}
	ptr := unsafe.Pointer(unsafe.SliceData(data))
	inPlace := littleEndian && uintptr(ptr)%uintptr(dt.Size()) == 0
	if dt == backend.F32 {
		if inPlace {
			w.f32 = unsafe.Slice((*float32)(ptr), n)
		} else {
			w.f32 = make([]float32, n)
			for i := range w.f32 {
				w.f32[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
			}
			w.owned = 4 * int64(n)
		}
	} else {
		if inPlace {
			w.u16 = unsafe.Slice((*uint16)(ptr), n)
		} else {
			w.u16 = make([]uint16, n)
			for i := range w.u16 {
				w.u16[i] = binary.LittleEndian.Uint16(data[2*i:])
			}
			w.owned = 2 * int64(n)
		}
	}
	b.account(w.owned)
	return w, nil
}

func checkWeightShape(dt backend.DType, rows, cols int) error {
	if dt != backend.F32 && dt != backend.BF16 && dt != backend.F16 {
		return fmt.Errorf("cpu backend: unsupported weight dtype %s", dt)
	}
	if rows < 0 || cols < 0 {
		return fmt.Errorf("cpu backend: weight shape %d×%d is negative", rows, cols)
	}
	return nil
}

// allocWeight makes an owned weight of dt whose element i is f(i).
func (b *Backend) allocWeight(dt backend.DType, rows, cols int, f func(i int) float32) (*weight, error) {
	if err := checkWeightShape(dt, rows, cols); err != nil {
		return nil, err
	}
	n := rows * cols
	w := &weight{dt: dt, rows: rows, cols: cols, owned: int64(n * dt.Size())}
	const chunk = 1 << 16
	tasks := (n + chunk - 1) / chunk
	switch dt {
	case backend.F32:
		w.f32 = make([]float32, n)
		b.parallel(tasks, func(_, t int) {
			for i := t * chunk; i < min(n, (t+1)*chunk); i++ {
				w.f32[i] = f(i)
			}
		})
	case backend.BF16, backend.F16:
		round := backend.F32ToBF16
		if dt == backend.F16 {
			round = backend.F32ToF16
		}
		w.u16 = make([]uint16, n)
		b.parallel(tasks, func(_, t int) {
			for i := t * chunk; i < min(n, (t+1)*chunk); i++ {
				w.u16[i] = round(f(i))
			}
		})
	}
	b.account(w.owned)
	return w, nil
}

// RandomWeight makes a weight whose element i is
// backend.RandomValue(seed, i)*scale rounded to dt.
func (b *Backend) RandomWeight(dt backend.DType, rows, cols int, seed uint64, scale float32) (backend.Weight, error) {
	defer b.lock()()
	return b.allocWeight(dt, rows, cols, func(i int) float32 {
		return backend.RandomValue(seed, uint64(i)) * scale
	})
}

// ConstWeight makes a weight whose every element is v rounded to dt.
func (b *Backend) ConstWeight(dt backend.DType, rows, cols int, v float32) (backend.Weight, error) {
	defer b.lock()()
	return b.allocWeight(dt, rows, cols, func(int) float32 { return v })
}

// FreeWeight releases a weight the backend allocated; a borrowed weight's
// memory belongs to the caller.
func (b *Backend) FreeWeight(w backend.Weight) {
	c := asWeight(w)
	c.freed = true
	b.account(-c.owned - c.panelBytes)
	b.panelBytes.Add(-c.panelBytes)
	c.f32, c.u16, c.panels = nil, nil, nil
}

// widenRow writes row r of w, columns [c0, c0+len(dst)), into dst as float32.
func (k *kernels) widenRow(dst []float32, w *weight, r, c0 int) {
	off := r*w.cols + c0
	switch w.dt {
	case backend.F32:
		copy(dst, w.f32[off:off+len(dst)])
	case backend.BF16:
		k.widenBF16(dst, w.u16[off:off+len(dst)])
	case backend.F16:
		k.widenF16(dst, w.u16[off:off+len(dst)])
	}
}
