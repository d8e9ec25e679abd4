package cuda

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
	"github.com/sdtp/sdtp/backend"
)

func init() {
	backend.Register("cuda", func(o backend.Options) (backend.Backend, error) { return Open(o) })
	backend.Register("cuda-f32", func(o backend.Options) (backend.Backend, error) { return OpenF32(o) })
}

// Backend runs the backend operations on one NVIDIA GPU.
type Backend struct {
	mu        sync.Mutex
	drv       *driver
	blas      *cublas
	dev       int32
	ctx       uintptr
	stream    uintptr
	handle    uintptr // cuBLAS
	module    uintptr
	fn        map[string]uintptr
	name      string
	ccMaj     int
	ccMin     int
	sms       int
	smemOptin int

	params pinned // kernel argument block and gemm scalars
	stage  staging

	allocs    map[uintptr]int64
	used      int64
	peak      int64
	blasWS    uintptr
	decodeWS  uintptr // split-K partials of decode attention
	decodeCap int64
	seqsBuf   uintptr // DecodeSeq entries of a batched decode step
	seqsCap   int64
	massWS    uintptr // AttentionMass partials, denominators and key sums
	massCap   int64

	flash     map[int]flashKernel  // flash-attention kernel used per head size
	useGEMV   bool                 // one-token MatMul through gemv_bf16 instead of cuBLAS
	decodeMMA map[int]decodeKernel // tensor-core decode kernel per head size (absent: SIMT kernel)

	// Optional cuDNN fused attention (cudnn.go).
	dnn       *cudnn
	dnnHandle uintptr
	dnnPlans  map[dnnKey]*dnnPlan // nil plan: cuDNN declined the shape
	dnnErr    error               // why cuDNN is off or last declined
	dnnWS     uintptr
	dnnWSCap  int64
	useDNN    bool // take the cuDNN path where it has a plan
	dnnMinLen int  // shortest prefill sent to cuDNN

	f32   bool // activations and weights in float32 ("cuda-f32")
	esize int  // bytes per activation or weight element: 2 (bf16) or 4

	err error // first device error (sticky)
}

var _ backend.Backend = (*Backend)(nil)

// Layout of the pinned parameter block.
const (
	paramBytes   = 8 << 10
	argPtrOffset = 6 << 10 // where the array of argument pointers starts
	scalarOffset = 7 << 10 // f32 constants 1 and 0 for cuBLAS
	maxArgs      = 32
	blasWSBytes  = 32 << 20
)

// Open opens device o.Device with bf16 activations and weights (the
// "cuda" backend). It fails with an error when the driver, the CUDA
// libraries or the device are missing.
func Open(o backend.Options) (*Backend, error) { return open(o, false) }

// OpenF32 opens device o.Device with float32 activations and weights (the
// "cuda-f32" backend): cuBLAS f32 GEMMs without TF32, the generic
// attention kernel, no cuDNN. It is for exactness checks against the CPU
// backend, not speed.
func OpenF32(o backend.Options) (*Backend, error) { return open(o, true) }

func open(o backend.Options, f32 bool) (*Backend, error) {
	drv, err := openDriver()
	if err != nil {
		return nil, err
	}
	if r := drv.cuInit(0); r != 0 {
		return nil, fmt.Errorf("no usable NVIDIA GPU: %w", drv.check("cuInit", r))
	}
	var count int32
	if err := drv.check("cuDeviceGetCount", drv.cuDeviceGetCount(&count)); err != nil {
		return nil, err
	}
	if count == 0 {
		return nil, errors.New("no NVIDIA GPU found")
	}
	if o.Device < 0 || o.Device >= int(count) {
		return nil, fmt.Errorf("device %d does not exist (%d GPUs found)", o.Device, count)
	}
	b := &Backend{drv: drv, fn: map[string]uintptr{}, allocs: map[uintptr]int64{}, flash: map[int]flashKernel{}, useGEMV: true, decodeMMA: map[int]decodeKernel{}, useDNN: !f32, dnnMinLen: dnnDefaultMinLen, f32: f32, esize: 2}
	if f32 {
		b.esize = 4
	} else {
		for _, k := range flashKernels {
			if k.dflt {
				b.flash[k.d] = k
			}
		}
		for _, k := range decodeKernels2 {
			if k.dflt {
				b.decodeMMA[k.d] = k
			}
		}
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := b.init(int32(o.Device)); err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

func (b *Backend) init(ordinal int32) error {
	d := b.drv
	if err := d.check("cuDeviceGet", d.cuDeviceGet(&b.dev, ordinal)); err != nil {
		return err
	}
	var name [256]byte
	d.cuDeviceGetName(&name[0], int32(len(name)), b.dev)
	b.name = goString(&name[0])
	attr := func(a int32) int {
		var v int32
		d.cuDeviceGetAttribute(&v, a, b.dev)
		return int(v)
	}
	b.ccMaj, b.ccMin, b.sms = attr(cuDevAttrCCMajor), attr(cuDevAttrCCMinor), attr(cuDevAttrMultiprocessorCount)
	if b.ccMaj < 8 {
		return fmt.Errorf("%s has compute capability %d.%d; the cuda backend needs 8.0 or newer (bf16 tensor cores)", b.name, b.ccMaj, b.ccMin)
	}
	if err := d.check("cuDevicePrimaryCtxRetain", d.cuDevicePrimaryCtxRetain(&b.ctx, b.dev)); err != nil {
		return err
	}
	if err := d.check("cuCtxSetCurrent", d.cuCtxSetCurrent(b.ctx)); err != nil {
		return err
	}
	if err := d.check("cuStreamCreate", d.cuStreamCreate(&b.stream, cuStreamNonBlocking)); err != nil {
		return err
	}
	var pool uintptr
	if err := d.check("cuDeviceGetDefaultMemPool", d.cuDeviceGetDefaultMemPool(&pool, b.dev)); err != nil {
		return err
	}
	keep := ^uint64(0) // keep freed memory in the pool: no synchronising frees
	if err := d.check("cuMemPoolSetAttribute", d.cuMemPoolSetAttribute(pool, cuMempoolAttrReleaseThreshold, &keep)); err != nil {
		return err
	}
	var err error
	if b.params, err = b.allocPinned(paramBytes); err != nil {
		return err
	}
	scal := unsafe.Slice((*float32)(unsafe.Add(b.params.p, scalarOffset)), 2)
	scal[0], scal[1] = 1, 0
	if err := b.newStaging(); err != nil {
		return err
	}
	if err := b.loadKernels(); err != nil {
		return err
	}
	if b.blas, err = openCublas(); err != nil {
		return err
	}
	if r := b.blas.cublasCreate(&b.handle); r != 0 {
		b.handle = 0
		return fmt.Errorf("cublasCreate failed with status %d", r)
	}
	if r := b.blas.cublasSetStream(b.handle, b.stream); r != 0 {
		return fmt.Errorf("cublasSetStream failed with status %d", r)
	}
	if !b.f32 {
		b.openDNN()
	}
	if b.blasWS, err = b.alloc(blasWSBytes); err != nil {
		return err
	}
	if r := b.blas.cublasSetWorkspace(b.handle, b.blasWS, blasWSBytes); r != 0 {
		return fmt.Errorf("cublasSetWorkspace failed with status %d", r)
	}
	return b.sync()
}

// loadKernels loads the kernel module from the disk cache, compiling it
// with NVRTC on a miss.
func (b *Backend) loadKernels() error {
	src := kernelSource()
	var drvVer int32
	b.drv.cuDriverGetVersion(&drvVer)
	cache := newKernelCache()
	opts := compileOptions
	if b.f32 {
		opts = append(append([]string(nil), opts...), "-DSDTP_F32")
	}
	key := cacheKey(src, fmt.Sprint(opts), b.name, fmt.Sprintf("sm_%d%d", b.ccMaj, b.ccMin), fmt.Sprint(drvVer))
	image, ok := cache.load(key)
	if !ok {
		nv, err := openNVRTC()
		if err != nil {
			return err
		}
		c, err := nv.compile(src, "sdtp_kernels.cu", b.ccMaj, b.ccMin, opts)
		if err != nil {
			return err
		}
		image = c.image
		cache.store(key, image)
	}
	var pin runtime.Pinner
	pin.Pin(&image[0])
	err := b.drv.check("cuModuleLoadData", b.drv.cuModuleLoadData(&b.module, unsafe.Pointer(&image[0])))
	pin.Unpin()
	if err != nil {
		return err
	}
	for _, n := range kernelNames {
		if b.f32 && bf16OnlyKernel(n) {
			continue
		}
		var f uintptr
		if err := b.drv.check("cuModuleGetFunction "+n, b.drv.cuModuleGetFunction(&f, b.module, n)); err != nil {
			return err
		}
		b.fn[n] = f
	}
	var optin int32
	b.drv.cuDeviceGetAttribute(&optin, cuDevAttrSharedPerBlockOptin, b.dev)
	b.smemOptin = int(optin)
	if b.f32 {
		return b.setSmem(map[string]int{"gemv_bf16": 4 * gemvSmemCols, "gemv_qkv_bf16": 4 * gemvSmemCols, "gemv_gateup_bf16": 4 * gemvSmemCols})
	}
	for _, k := range flashKernels {
		if err := b.drv.check("cuFuncSetAttribute "+k.name, b.drv.cuFuncSetAttribute(b.fn[k.name], cuFuncAttrMaxDynamicShared, int32(k.smem()))); err != nil {
			return err
		}
	}
	smem := map[string]int{"gemv_bf16": 4 * gemvSmemCols, "gemv_qkv_bf16": 4 * gemvSmemCols, "gemv_gateup_bf16": 4 * gemvSmemCols}
	for _, k := range decodeKernels2 {
		smem[k.name] = k.smem()
		if n := k.batchName(); n != "" {
			smem[n] = k.smem()
		}
	}
	return b.setSmem(smem)
}

// setSmem raises the dynamic shared memory limit of the named kernels.
func (b *Backend) setSmem(smem map[string]int) error {
	for name, bytes := range smem {
		if err := b.drv.check("cuFuncSetAttribute "+name, b.drv.cuFuncSetAttribute(b.fn[name], cuFuncAttrMaxDynamicShared, int32(bytes))); err != nil {
			return err
		}
	}
	return nil
}

// flashKernel is one compiled variant of the flash-attention kernel
// (FLASH_KERNEL in kernels/attention.cu).
type flashKernel struct {
	name      string
	d, mt, bn int  // head size, 16-row tiles per warp, keys per tile
	dflt      bool // the variant used unless a benchmark overrides it
}

var flashKernels = []flashKernel{
	{"flash_attn_d64", 64, 1, 64, true},
	{"flash_attn_d128", 128, 1, 64, false},
	{"flash_attn_d64_m2", 64, 2, 64, false},
	{"flash_attn_d128_m2", 128, 2, 64, true},
	{"flash_attn_d128_m2q", 128, 2, 32, false},
	{"flash_attn_d128_m2n32", 128, 2, 32, false},
}

// smem is the kernel's dynamic shared memory: Q tile plus double-buffered
// K and V tiles, rows padded by 8 elements.
func (k flashKernel) smem() int { return (64*k.mt + 4*k.bn) * (k.d + 8) * 2 }

// rows is the number of queries one block takes.
func (k flashKernel) rows() int { return 64 * k.mt }

// enter serialises a call and makes the context current on its thread.
func (b *Backend) enter() {
	b.mu.Lock()
	runtime.LockOSThread()
	purego.SyscallN(b.drv.cuCtxSetCurrentRaw, b.ctx)
}

func (b *Backend) leave() {
	runtime.UnlockOSThread()
	b.mu.Unlock()
}

// fail records err as the sticky device error if it is the first.
func (b *Backend) fail(err error) {
	if err != nil && b.err == nil {
		b.err = err
	}
}

// alloc takes device memory from the stream-ordered pool.
func (b *Backend) alloc(n int64) (uintptr, error) {
	if n <= 0 {
		n = 1
	}
	var p uintptr
	r, _, _ := purego.SyscallN(b.drv.cuMemAllocAsync, uintptr(unsafe.Pointer(&p)), uintptr(n), b.stream)
	if err := b.drv.check(fmt.Sprintf("cuMemAllocAsync(%d bytes)", n), cuResult(r)); err != nil {
		return 0, err
	}
	b.allocs[p] = n
	b.used += n
	b.peak = max(b.peak, b.used)
	return p, nil
}

// free returns device memory to the pool (stream-ordered: no sync).
func (b *Backend) free(p uintptr) {
	n, ok := b.allocs[p]
	if !ok {
		return
	}
	delete(b.allocs, p)
	b.used -= n
	r, _, _ := purego.SyscallN(b.drv.cuMemFreeAsync, p, b.stream)
	b.fail(b.drv.check("cuMemFreeAsync", cuResult(r)))
}

func (b *Backend) memcpyHtoDAsync(dst, src uintptr, n int) cuResult {
	r, _, _ := purego.SyscallN(b.drv.cuMemcpyHtoDAsync, dst, src, uintptr(n), b.stream)
	return cuResult(r)
}

func (b *Backend) memcpyDtoHAsync(dst, src uintptr, n int) cuResult {
	r, _, _ := purego.SyscallN(b.drv.cuMemcpyDtoHAsync, dst, src, uintptr(n), b.stream)
	return cuResult(r)
}

func (b *Backend) memcpyDtoDAsync(dst, src uintptr, n int) cuResult {
	r, _, _ := purego.SyscallN(b.drv.cuMemcpyDtoDAsync, dst, src, uintptr(n), b.stream)
	return cuResult(r)
}

// zero queues a fill of n elements at dst with zeros.
func (b *Backend) zero(dst uintptr, n int) {
	b.fail(b.drv.check("cuMemsetD16Async", b.memsetD16Async(dst, 0, n*b.esize/2)))
}

func (b *Backend) memsetD32Async(dst uintptr, v uint32, n int) cuResult {
	r, _, _ := purego.SyscallN(b.drv.cuMemsetD32Async, dst, uintptr(v), uintptr(n), b.stream)
	return cuResult(r)
}

func (b *Backend) memsetD16Async(dst uintptr, v uint16, n int) cuResult {
	r, _, _ := purego.SyscallN(b.drv.cuMemsetD16Async, dst, uintptr(v), uintptr(n), b.stream)
	return cuResult(r)
}

func (b *Backend) sync() error {
	b.fail(b.drv.check("cuStreamSynchronize", b.drv.cuStreamSynchronize(b.stream)))
	return b.err
}

// Name returns "cuda", or "cuda-f32" for a backend from OpenF32.
func (b *Backend) Name() string {
	if b.f32 {
		return "cuda-f32"
	}
	return "cuda"
}

// Device returns the GPU's name.
func (b *Backend) Device() string { return b.name }

// Sync waits for queued work and returns the first device error.
func (b *Backend) Sync() error {
	b.enter()
	defer b.leave()
	return b.sync()
}

// ActivationBytes reports the size of one activation element: the backend
// keeps activations (and so the KV cache) in bf16, or float32 for
// "cuda-f32".
func (b *Backend) ActivationBytes() int { return b.esize }

// FreeMemory reports the device memory free now and in total
// (cuMemGetInfo). Memory the backend freed stays in its stream-ordered
// pool, for its own reuse, and does not count as free.
func (b *Backend) FreeMemory() (free, total int64, err error) {
	b.enter()
	defer b.leave()
	var f, t uint64
	if err := b.drv.check("cuMemGetInfo", b.drv.cuMemGetInfo(&f, &t)); err != nil {
		return 0, 0, err
	}
	return int64(f), int64(t), nil
}

// Memory reports the device bytes the backend holds now and at its peak.
func (b *Backend) Memory() (used, peak int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used, b.peak
}

// Close frees everything the backend holds.
func (b *Backend) Close() error {
	b.enter()
	defer b.leave()
	err := b.sync()
	b.close()
	return err
}

func (b *Backend) close() {
	d := b.drv
	if b.stream != 0 {
		d.cuStreamSynchronize(b.stream)
	}
	if b.handle != 0 {
		b.blas.cublasDestroy(b.handle)
		b.handle = 0
	}
	b.closeDNN()
	for p := range b.allocs {
		b.free(p)
	}
	if b.stream != 0 {
		d.cuStreamSynchronize(b.stream)
	}
	b.freeStaging()
	b.freePinned(&b.params)
	if b.module != 0 {
		d.cuModuleUnload(b.module)
		b.module = 0
	}
	if b.stream != 0 {
		d.cuStreamDestroy(b.stream)
		b.stream = 0
	}
	if b.ctx != 0 {
		d.cuDevicePrimaryCtxRelease(b.dev)
		b.ctx = 0
	}
	if b.err == nil {
		b.err = errors.New("cuda backend is closed")
	}
}
