// Package cuda is the NVIDIA GPU implementation of backend.Backend,
// registered as "cuda".
//
// It needs no cgo: libcuda.so.1 (the driver), cuBLAS and NVRTC are opened
// at run time with purego, and the kernels, written in CUDA C and embedded
// in the binary, are compiled by NVRTC for the device's architecture on
// first use and cached on disk under os.UserCacheDir()/sdtp/cuda. Opening
// fails with an error (never a panic) when the driver, a library or a GPU
// is missing, so programs that link this package still run on machines
// without CUDA.
//
// Numerics: activations live on the device as bfloat16 (FromHost and ToHost
// convert from and to float32); every kernel accumulates in float32, and
// matrix products run on the tensor cores with float32 accumulation. Weights
// are held as bfloat16: F32 and F16 weights are converted on upload (their
// Weight still reports the dtype they were given in). RandomWeight and
// ConstWeight are generated on the device.
//
// Threading: the backend uses the device's primary context, made current on
// the calling OS thread (locked for the duration of each call), so any
// goroutine may call it; calls are serialised by a mutex.
package cuda
