package cuda

import (
	"unsafe"
)

// pinned is a block of page-locked host memory from cuMemAllocHost. It is
// C memory: the driver may read it asynchronously and Go's collector never
// moves or scans it.
type pinned struct {
	p    unsafe.Pointer
	size int
}

func (b *Backend) allocPinned(size int) (pinned, error) {
	var p unsafe.Pointer
	if err := b.drv.check("cuMemAllocHost", b.drv.cuMemAllocHost(&p, uint64(size))); err != nil {
		return pinned{}, err
	}
	return pinned{p: p, size: size}, nil
}

func (b *Backend) freePinned(h *pinned) {
	if h.p != nil {
		b.drv.cuMemFreeHost(h.p)
		h.p = nil
	}
}

// bytes views the block as a byte slice.
func (h pinned) bytes() []byte { return unsafe.Slice((*byte)(h.p), h.size) }

// addr is the block's address for driver calls.
func (h pinned) addr() uintptr { return uintptr(h.p) }

// stagingSlot is one page-locked buffer and the event that marks the end
// of the last copy that read or wrote it.
type stagingSlot struct {
	buf     pinned
	event   uintptr
	pending bool
}

// Staging sizes: small copies (index vectors, one-token inputs) rotate
// through many small slots so they rarely wait; large copies alternate two
// big buffers so one fills while the other is being copied.
const (
	smallSlotBytes = 64 << 10
	smallSlots     = 32
	bigSlotBytes   = 32 << 20
	bigSlots       = 2
)

// staging is the set of page-locked buffers through which all host↔device
// copies go.
type staging struct {
	small, big []stagingSlot
	nextSmall  int
	nextBig    int
}

func (b *Backend) newStaging() error {
	mk := func(n, size int) ([]stagingSlot, error) {
		slots := make([]stagingSlot, n)
		for i := range slots {
			buf, err := b.allocPinned(size)
			if err != nil {
				return nil, err
			}
			slots[i].buf = buf
			if err := b.drv.check("cuEventCreate", b.drv.cuEventCreate(&slots[i].event, cuEventDisableTiming)); err != nil {
				return nil, err
			}
		}
		return slots, nil
	}
	var err error
	if b.stage.small, err = mk(smallSlots, smallSlotBytes); err != nil {
		return err
	}
	b.stage.big, err = mk(bigSlots, bigSlotBytes)
	return err
}

func (b *Backend) freeStaging() {
	for _, set := range [][]stagingSlot{b.stage.small, b.stage.big} {
		for i := range set {
			if set[i].event != 0 {
				b.drv.cuEventDestroy(set[i].event)
			}
			b.freePinned(&set[i].buf)
		}
	}
	b.stage = staging{}
}

// acquire returns a slot for n bytes, waiting for its previous copy.
func (b *Backend) acquire(n int) *stagingSlot {
	var s *stagingSlot
	if n <= smallSlotBytes {
		s = &b.stage.small[b.stage.nextSmall]
		b.stage.nextSmall = (b.stage.nextSmall + 1) % len(b.stage.small)
	} else {
		s = &b.stage.big[b.stage.nextBig]
		b.stage.nextBig = (b.stage.nextBig + 1) % len(b.stage.big)
	}
	if s.pending {
		b.fail(b.drv.check("cuEventSynchronize", b.drv.cuEventSynchronize(s.event)))
		s.pending = false
	}
	return s
}

// release records that s is in use by the copies queued so far.
func (b *Backend) release(s *stagingSlot) {
	b.fail(b.drv.check("cuEventRecord", b.drv.cuEventRecord(s.event, b.stream)))
	s.pending = true
}

// upload queues a copy of n bytes to device address dst; fill writes the
// bytes of chunk [off, off+len(buf)) into the staging buffer buf.
func (b *Backend) upload(dst uintptr, n int, fill func(buf []byte, off int)) {
	for off := 0; off < n; {
		c := min(n-off, bigSlotBytes)
		s := b.acquire(c)
		buf := s.buf.bytes()[:c]
		fill(buf, off)
		b.fail(b.drv.check("cuMemcpyHtoDAsync", b.memcpyHtoDAsync(dst+uintptr(off), s.buf.addr(), c)))
		b.release(s)
		off += c
	}
}

// download copies n bytes from device address src, waiting for queued
// work; take reads each chunk [off, off+len(buf)).
func (b *Backend) download(src uintptr, n int, take func(buf []byte, off int)) {
	for off := 0; off < n; {
		c := min(n-off, bigSlotBytes)
		s := b.acquire(c)
		b.fail(b.drv.check("cuMemcpyDtoHAsync", b.memcpyDtoHAsync(s.buf.addr(), src+uintptr(off), c)))
		b.fail(b.drv.check("cuStreamSynchronize", b.drv.cuStreamSynchronize(b.stream)))
		if b.err == nil {
			take(s.buf.bytes()[:c], off)
		}
		off += c
	}
}
