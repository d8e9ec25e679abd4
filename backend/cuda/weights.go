package cuda

import (
	"fmt"
	"math"

	"github.com/sdtp/sdtp/backend"
)

// newWeightMem allocates a rows×cols bf16 weight.
func (b *Backend) newWeightMem(dt backend.DType, rows, cols int) (*weight, error) {
	if rows < 0 || cols < 0 {
		return nil, fmt.Errorf("cuda: weight shape %d×%d is negative", rows, cols)
	}
	if dt != backend.F32 && dt != backend.BF16 && dt != backend.F16 {
		return nil, fmt.Errorf("cuda: unsupported weight dtype %v", dt)
	}
	if b.err != nil {
		return nil, b.err
	}
	p, err := b.alloc(int64(rows) * int64(cols) * int64(b.esize))
	if err != nil {
		return nil, fmt.Errorf("cuda: %v weight %d×%d: %w", dt, rows, cols, err)
	}
	return &weight{ptr: p, rows: rows, cols: cols, dt: dt}, nil
}

// NewWeight uploads a weight through page-locked staging buffers; F32 and
// F16 data are converted to bf16 on the device. data is not kept.
func (b *Backend) NewWeight(dt backend.DType, rows, cols int, data []byte) (backend.Weight, error) {
	if len(data) != rows*cols*dt.Size() {
		return nil, fmt.Errorf("cuda: %v weight %d×%d needs %d bytes, got %d", dt, rows, cols, rows*cols*dt.Size(), len(data))
	}
	b.enter()
	defer b.leave()
	w, err := b.newWeightMem(dt, rows, cols)
	if err != nil {
		return nil, err
	}
	if (dt == backend.BF16 && !b.f32) || (dt == backend.F32 && b.f32) {
		b.upload(w.ptr, len(data), func(buf []byte, off int) { copy(buf, data[off:]) })
	} else {
		// Raw chunks go to a device scratch buffer, then a kernel converts
		// them into place; stream order keeps the scratch reuse safe.
		chunk := bigSlotBytes
		scratch, err := b.alloc(int64(min(chunk, len(data))))
		if err != nil {
			b.free(w.ptr)
			return nil, fmt.Errorf("cuda: %v weight %d×%d: %w", dt, rows, cols, err)
		}
		kernel, esize := "f32_to_bf16", 4
		switch dt {
		case backend.F16:
			kernel, esize = "f16_to_bf16", 2
		case backend.BF16:
			kernel, esize = "bf16_to_act", 2
		}
		for off := 0; off < len(data); off += chunk {
			c := min(chunk, len(data)-off)
			part := data[off : off+c]
			b.upload(scratch, c, func(buf []byte, o int) { copy(buf, part[o:]) })
			n := uint64(c / esize)
			b.args().ptr(w.ptr+uintptr(off/esize*b.esize)).ptr(scratch).u64(n).launch(kernel, b.grid1(n), block256, 0)
		}
		b.free(scratch)
	}
	if b.err != nil {
		return nil, b.err
	}
	return w, nil
}

// RandomWeight generates RandomValue(seed, i)*scale on the device, rounded
// to dt and then to bf16 (the same bits NewWeight gives those values).
func (b *Backend) RandomWeight(dt backend.DType, rows, cols int, seed uint64, scale float32) (backend.Weight, error) {
	b.enter()
	defer b.leave()
	w, err := b.newWeightMem(dt, rows, cols)
	if err != nil {
		return nil, err
	}
	n := uint64(rows) * uint64(cols)
	round := map[backend.DType]int{backend.F32: 0, backend.F16: 1, backend.BF16: 2}[dt]
	b.args().ptr(w.ptr).u64(n).u64(seed).f32(scale).i32(round).launch("random_bf16", b.grid1(n), block256, 0)
	if b.err != nil {
		return nil, b.err
	}
	return w, nil
}

// ConstWeight fills a weight with v (rounded to bf16).
func (b *Backend) ConstWeight(dt backend.DType, rows, cols int, v float32) (backend.Weight, error) {
	b.enter()
	defer b.leave()
	w, err := b.newWeightMem(dt, rows, cols)
	if err != nil {
		return nil, err
	}
	if n := rows * cols; n > 0 {
		switch dt { // as NewWeight would round it
		case backend.F16:
			v = backend.F16ToF32(backend.F32ToF16(v))
		case backend.BF16:
			v = backend.BF16ToF32(backend.F32ToBF16(v))
		}
		if b.f32 {
			b.fail(b.drv.check("cuMemsetD32Async", b.memsetD32Async(w.ptr, math.Float32bits(v), n)))
		} else {
			b.fail(b.drv.check("cuMemsetD16Async", b.memsetD16Async(w.ptr, backend.F32ToBF16(v), n)))
		}
	}
	if b.err != nil {
		return nil, b.err
	}
	return w, nil
}

// FreeWeight releases a weight's device memory.
func (b *Backend) FreeWeight(w backend.Weight) {
	c := asWeight("FreeWeight", w)
	if c.ptr == 0 {
		return
	}
	b.enter()
	defer b.leave()
	b.free(c.ptr)
	c.ptr = 0
}
