package cuda

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/ebitengine/purego"
)

// args builds a kernel's argument list in the pinned parameter block:
// values from offset 0, one 8-byte-aligned slot each, and the array of
// pointers to them at argPtrOffset, as cuLaunchKernel expects.
type args struct {
	b   *Backend
	off int
	n   int
}

func (b *Backend) args() *args { return &args{b: b} }

func (a *args) slot(size int) unsafe.Pointer {
	if a.n == maxArgs || a.off+size > argPtrOffset {
		panic("cuda: too many kernel arguments") // programming error
	}
	p := unsafe.Add(a.b.params.p, a.off)
	*(*uintptr)(unsafe.Add(a.b.params.p, argPtrOffset+8*a.n)) = uintptr(p)
	a.n++
	a.off += (size + 7) &^ 7
	return p
}

func (a *args) ptr(p uintptr) *args { *(*uintptr)(a.slot(8)) = p; return a }
func (a *args) i32(v int) *args     { *(*int32)(a.slot(4)) = int32(v); return a }
func (a *args) u64(v uint64) *args  { *(*uint64)(a.slot(8)) = v; return a }
func (a *args) f32(v float32) *args { *(*uint32)(a.slot(4)) = math.Float32bits(v); return a }
func (a *args) floats(v []float32, n int) *args {
	dst := unsafe.Slice((*float32)(a.slot(4*n)), n)
	clear(dst)
	copy(dst, v)
	return a
}

// dim3 is a grid or block shape.
type dim3 struct{ x, y, z int }

// launch queues kernel name with the arguments built in a.
func (a *args) launch(name string, grid, block dim3, smem int) {
	b := a.b
	if b.err != nil {
		return
	}
	f, ok := b.fn[name]
	if !ok {
		panic("cuda: unknown kernel " + name)
	}
	if grid.x == 0 || grid.y == 0 || grid.z == 0 {
		return
	}
	r, _, _ := purego.SyscallN(b.drv.cuLaunchKernel, f,
		uintptr(grid.x), uintptr(grid.y), uintptr(grid.z),
		uintptr(block.x), uintptr(block.y), uintptr(block.z),
		uintptr(smem), b.stream, b.params.addr()+argPtrOffset, 0)
	if r != 0 { // the message is formatted only on failure: launches are hot
		b.fail(b.drv.check(fmt.Sprintf("cuLaunchKernel %s grid %v block %v", name, grid, block), cuResult(r)))
	}
}

// grid1 is a 1-D grid of 256-thread blocks covering n work items, capped
// (the kernels loop) at a few waves of the device.
func (b *Backend) grid1(n uint64) dim3 {
	blocks := (n + 255) / 256
	limit := uint64(b.sms) * 16
	if blocks > limit {
		blocks = limit
	}
	if blocks == 0 {
		blocks = 1
	}
	return dim3{int(blocks), 1, 1}
}

var block256 = dim3{256, 1, 1}
