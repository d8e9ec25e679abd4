package cuda

import (
	"fmt"
	"unsafe"
)

// cuResult is a CUresult from the driver API (0 is success).
type cuResult int32

// Driver API constants used here (cuda.h).
const (
	cuDevAttrMultiprocessorCount  = 16
	cuDevAttrCCMajor              = 75
	cuDevAttrCCMinor              = 76
	cuDevAttrSharedPerBlockOptin  = 97
	cuFuncAttrMaxDynamicShared    = 8
	cuFuncAttrNumRegs             = 4
	cuMempoolAttrReleaseThreshold = 4
	cuStreamNonBlocking           = 1
	cuEventDefault                = 0
	cuEventDisableTiming          = 2
)

// driver holds the libcuda.so.1 entry points the backend uses.
type driver struct {
	cuInit                    func(flags uint32) cuResult
	cuDriverGetVersion        func(v *int32) cuResult
	cuDeviceGetCount          func(n *int32) cuResult
	cuDeviceGet               func(dev *int32, ordinal int32) cuResult
	cuDeviceGetName           func(name *byte, n int32, dev int32) cuResult
	cuDeviceGetAttribute      func(v *int32, attr int32, dev int32) cuResult
	cuDeviceTotalMem          func(bytes *uint64, dev int32) cuResult
	cuDevicePrimaryCtxRetain  func(ctx *uintptr, dev int32) cuResult
	cuDevicePrimaryCtxRelease func(dev int32) cuResult
	cuCtxSetCurrent           func(ctx uintptr) cuResult
	cuCtxSynchronize          func() cuResult
	cuStreamCreate            func(s *uintptr, flags uint32) cuResult
	cuStreamDestroy           func(s uintptr) cuResult
	cuStreamSynchronize       func(s uintptr) cuResult
	cuEventCreate             func(e *uintptr, flags uint32) cuResult
	cuEventRecord             func(e, s uintptr) cuResult
	cuEventSynchronize        func(e uintptr) cuResult
	cuEventElapsedTime        func(ms *float32, start, end uintptr) cuResult
	cuEventDestroy            func(e uintptr) cuResult
	cuMemAllocHost            func(p *unsafe.Pointer, size uint64) cuResult
	cuMemFreeHost             func(p unsafe.Pointer) cuResult
	cuMemGetInfo              func(free, total *uint64) cuResult
	cuDeviceGetDefaultMemPool func(pool *uintptr, dev int32) cuResult
	cuMemPoolSetAttribute     func(pool uintptr, attr int32, v *uint64) cuResult
	cuMemPoolTrimTo           func(pool uintptr, keep uint64) cuResult
	cuModuleLoadData          func(mod *uintptr, image unsafe.Pointer) cuResult
	cuModuleUnload            func(mod uintptr) cuResult
	cuModuleGetFunction       func(f *uintptr, mod uintptr, name string) cuResult
	cuFuncSetAttribute        func(f uintptr, attr int32, v int32) cuResult
	cuFuncGetAttribute        func(v *int32, attr int32, f uintptr) cuResult
	cuGetErrorName            func(res cuResult, s **byte) cuResult
	cuGetErrorString          func(res cuResult, s **byte) cuResult

	// Hot paths, called through purego.SyscallN (integer arguments only).
	cuLaunchKernel     uintptr
	cuMemAllocAsync    uintptr
	cuMemFreeAsync     uintptr
	cuMemcpyHtoDAsync  uintptr
	cuMemcpyDtoHAsync  uintptr
	cuMemcpyDtoDAsync  uintptr
	cuMemsetD16Async   uintptr
	cuMemsetD32Async   uintptr
	cuStreamWaitEvent  uintptr
	cuEventRecordRaw   uintptr
	cuEventQuery       uintptr
	cuMemcpyHtoDSync   uintptr
	cuCtxSetCurrentRaw uintptr
}

// openDriver loads libcuda.so.1 and binds the entry points.
func openDriver() (*driver, error) {
	lib, name, err := openLib("libcuda.so.1", "libcuda.so")
	if err != nil {
		return nil, fmt.Errorf("NVIDIA driver not found (is this a machine with an NVIDIA GPU?): %w", err)
	}
	d := &driver{}
	err = bind(lib, name, []symbol{
		{"cuInit", &d.cuInit},
		{"cuDriverGetVersion", &d.cuDriverGetVersion},
		{"cuDeviceGetCount", &d.cuDeviceGetCount},
		{"cuDeviceGet", &d.cuDeviceGet},
		{"cuDeviceGetName", &d.cuDeviceGetName},
		{"cuDeviceGetAttribute", &d.cuDeviceGetAttribute},
		{"cuDeviceTotalMem_v2", &d.cuDeviceTotalMem},
		{"cuDevicePrimaryCtxRetain", &d.cuDevicePrimaryCtxRetain},
		{"cuDevicePrimaryCtxRelease_v2", &d.cuDevicePrimaryCtxRelease},
		{"cuCtxSetCurrent", &d.cuCtxSetCurrent},
		{"cuCtxSynchronize", &d.cuCtxSynchronize},
		{"cuStreamCreate", &d.cuStreamCreate},
		{"cuStreamDestroy_v2", &d.cuStreamDestroy},
		{"cuStreamSynchronize", &d.cuStreamSynchronize},
		{"cuEventCreate", &d.cuEventCreate},
		{"cuEventRecord", &d.cuEventRecord},
		{"cuEventSynchronize", &d.cuEventSynchronize},
		{"cuEventElapsedTime", &d.cuEventElapsedTime},
		{"cuEventDestroy_v2", &d.cuEventDestroy},
		{"cuMemAllocHost_v2", &d.cuMemAllocHost},
		{"cuMemFreeHost", &d.cuMemFreeHost},
		{"cuMemGetInfo_v2", &d.cuMemGetInfo},
		{"cuDeviceGetDefaultMemPool", &d.cuDeviceGetDefaultMemPool},
		{"cuMemPoolSetAttribute", &d.cuMemPoolSetAttribute},
		{"cuMemPoolTrimTo", &d.cuMemPoolTrimTo},
		{"cuModuleLoadData", &d.cuModuleLoadData},
		{"cuModuleUnload", &d.cuModuleUnload},
		{"cuModuleGetFunction", &d.cuModuleGetFunction},
		{"cuFuncSetAttribute", &d.cuFuncSetAttribute},
		{"cuFuncGetAttribute", &d.cuFuncGetAttribute},
		{"cuGetErrorName", &d.cuGetErrorName},
		{"cuGetErrorString", &d.cuGetErrorString},
		{"cuLaunchKernel", &d.cuLaunchKernel},
		{"cuMemAllocAsync", &d.cuMemAllocAsync},
		{"cuMemFreeAsync", &d.cuMemFreeAsync},
		{"cuMemcpyHtoDAsync_v2", &d.cuMemcpyHtoDAsync},
		{"cuMemcpyDtoHAsync_v2", &d.cuMemcpyDtoHAsync},
		{"cuMemcpyDtoDAsync_v2", &d.cuMemcpyDtoDAsync},
		{"cuMemsetD16Async", &d.cuMemsetD16Async},
		{"cuMemsetD32Async", &d.cuMemsetD32Async},
		{"cuStreamWaitEvent", &d.cuStreamWaitEvent},
		{"cuEventRecord", &d.cuEventRecordRaw},
		{"cuEventQuery", &d.cuEventQuery},
		{"cuMemcpyHtoD_v2", &d.cuMemcpyHtoDSync},
		{"cuCtxSetCurrent", &d.cuCtxSetCurrentRaw},
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// check turns a CUresult into an error naming the call.
func (d *driver) check(call string, r cuResult) error {
	if r == 0 {
		return nil
	}
	var name, desc *byte
	d.cuGetErrorName(r, &name)
	d.cuGetErrorString(r, &desc)
	return fmt.Errorf("%s: CUDA error %d %s (%s)", call, int(r), goString(name), goString(desc))
}
