package cpu

import (
	"fmt"

	"github.com/sdtp/sdtp/backend"
)

// tensor is a rows×cols float32 matrix; data holds exactly its elements,
// row-major. A view's data is a sub-slice of its parent's.
type tensor struct {
	data       []float32
	rows, cols int
	view       bool
	freed      bool
}

func (t *tensor) Rows() int { return t.rows }
func (t *tensor) Cols() int { return t.cols }

// row returns row i.
func (t *tensor) row(i int) []float32 { return t.data[i*t.cols : (i+1)*t.cols] }

// ints is a vector of int32 held in host memory.
type ints struct {
	v     []int32
	freed bool
}

func (v *ints) Len() int { return len(v.v) }

// Data returns the live elements of a CPU tensor or view, row-major: writes
// through the slice change the tensor. It panics if t is not a CPU tensor.
func Data(t backend.Tensor) []float32 { return asTensor(t).data }

func asTensor(t backend.Tensor) *tensor {
	c, ok := t.(*tensor)
	if !ok {
		panic(fmt.Sprintf("cpu backend: tensor of type %T is not a cpu tensor", t))
	}
	if c.freed {
		panic("cpu backend: use of a freed tensor")
	}
	return c
}

func asInts(v backend.Ints) []int32 {
	c, ok := v.(*ints)
	if !ok {
		panic(fmt.Sprintf("cpu backend: index vector of type %T is not a cpu vector", v))
	}
	if c.freed {
		panic("cpu backend: use of a freed index vector")
	}
	return c.v
}

// New allocates a rows×cols tensor (zeroed, though callers must not rely on it).
func (b *Backend) New(rows, cols int) backend.Tensor {
	if rows < 0 || cols < 0 {
		panic(fmt.Sprintf("cpu backend: New(%d, %d): negative size", rows, cols))
	}
	b.account(4 * int64(rows*cols))
	return &tensor{data: make([]float32, rows*cols), rows: rows, cols: cols}
}

// Free releases a tensor made by New or FromHost. Freeing a view or freeing
// twice panics.
func (b *Backend) Free(t backend.Tensor) {
	c := asTensor(t)
	if c.view {
		panic("cpu backend: Free of a view")
	}
	c.freed = true
	b.account(-4 * int64(len(c.data)))
	c.data = nil
}

// View returns rows [row, row+n) of t, sharing its memory.
func (b *Backend) View(t backend.Tensor, row, n int) backend.Tensor {
	c := asTensor(t)
	if row < 0 || n < 0 || row+n > c.rows {
		panic(fmt.Sprintf("cpu backend: View rows [%d, %d) of a %d-row tensor", row, row+n, c.rows))
	}
	return &tensor{data: c.data[row*c.cols : (row+n)*c.cols : (row+n)*c.cols], rows: n, cols: c.cols, view: true}
}

// FromHost copies data into a new rows×cols tensor.
func (b *Backend) FromHost(data []float32, rows, cols int) backend.Tensor {
	if len(data) != rows*cols {
		panic(fmt.Sprintf("cpu backend: FromHost of %d values as %d×%d", len(data), rows, cols))
	}
	t := b.New(rows, cols).(*tensor)
	copy(t.data, data)
	return t
}

// ToHost copies t into dst.
func (b *Backend) ToHost(dst []float32, t backend.Tensor) {
	c := asTensor(t)
	if len(dst) != len(c.data) {
		panic(fmt.Sprintf("cpu backend: ToHost of a %d×%d tensor into %d values", c.rows, c.cols, len(dst)))
	}
	copy(dst, c.data)
}

// Ints copies v into a new index vector.
func (b *Backend) Ints(v []int32) backend.Ints {
	b.account(4 * int64(len(v)))
	return &ints{v: append([]int32(nil), v...)}
}

// FreeInts releases an index vector.
func (b *Backend) FreeInts(v backend.Ints) {
	c, ok := v.(*ints)
	if !ok || c.freed {
		panic("cpu backend: FreeInts of a foreign or freed vector")
	}
	c.freed = true
	b.account(-4 * int64(len(c.v)))
	c.v = nil
}

// sameShape panics unless every tensor has a's shape.
func sameShape(op string, a *tensor, others ...*tensor) {
	for _, o := range others {
		if o.rows != a.rows || o.cols != a.cols {
			panic(fmt.Sprintf("cpu backend: %s: shapes %d×%d and %d×%d differ", op, a.rows, a.cols, o.rows, o.cols))
		}
	}
}
