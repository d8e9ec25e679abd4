package cuda

import (
	"fmt"

	"github.com/ebitengine/purego"
)

// cuBLAS constants (cublas_api.h, library_types.h).
const (
	cublasOpN          = 0
	cublasOpT          = 1
	cudaR16F           = 2
	cudaR32F           = 0
	cudaR16BF          = 14
	cublasCompute32F   = 68
	cublasGemmDefault  = -1
	cublasDefaultMath  = 0
	cublasTF32CoreMath = 3
)

// cublas holds the libcublas entry points the backend uses.
type cublas struct {
	name               string
	cublasCreate       func(h *uintptr) int32
	cublasDestroy      func(h uintptr) int32
	cublasSetStream    func(h, s uintptr) int32
	cublasSetWorkspace func(h, ptr uintptr, size uint64) int32
	cublasGemmEx       uintptr
	// cublasGemmStridedBatchedEx serves the training ops (train.go).
	cublasGemmStridedBatchedEx uintptr
}

var cublasNames = []string{
	"libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so",
	"/usr/local/cuda/lib64/libcublas.so.13", "/usr/local/cuda/lib64/libcublas.so.12",
}

func openCublas() (*cublas, error) {
	lib, name, err := openLib(cublasNames...)
	if err != nil {
		return nil, fmt.Errorf("cuBLAS not found; add the CUDA toolkit's lib folder to LD_LIBRARY_PATH: %w", err)
	}
	c := &cublas{name: name}
	err = bind(lib, name, []symbol{
		{"cublasCreate_v2", &c.cublasCreate},
		{"cublasDestroy_v2", &c.cublasDestroy},
		{"cublasSetStream_v2", &c.cublasSetStream},
		{"cublasSetWorkspace_v2", &c.cublasSetWorkspace},
		{"cublasGemmEx", &c.cublasGemmEx},
		{"cublasGemmStridedBatchedEx", &c.cublasGemmStridedBatchedEx},
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// gemmEx calls cublasGemmEx (column-major) with host-memory alpha and beta
// pointers; a, b, c are device pointers of dtype typ, computing in f32.
func (c *cublas) gemmEx(h uintptr, transA, transB, m, n, k int, alpha uintptr, a uintptr, lda int, b uintptr, ldb int, beta uintptr, out uintptr, ldc int, typ int) int32 {
	r, _, _ := purego.SyscallN(c.cublasGemmEx, h, uintptr(transA), uintptr(transB),
		uintptr(m), uintptr(n), uintptr(k), alpha,
		a, uintptr(typ), uintptr(lda),
		b, uintptr(typ), uintptr(ldb), beta,
		out, uintptr(typ), uintptr(ldc),
		uintptr(cublasCompute32F), uintptr(0xFFFFFFFF)) // CUBLAS_GEMM_DEFAULT (-1)
	return int32(r)
}

// gemmStridedBatched calls cublasGemmStridedBatchedEx (column-major) for
// g, computing in f32 (the default algorithm).
func (c *cublas) gemmStridedBatched(h uintptr, g gemmCall) int32 {
	r, _, _ := purego.SyscallN(c.cublasGemmStridedBatchedEx, h, uintptr(g.opA), uintptr(g.opB),
		uintptr(g.m), uintptr(g.n), uintptr(g.k), g.alpha,
		g.a, uintptr(g.typeAB), uintptr(g.lda), uintptr(g.strideA),
		g.b, uintptr(g.typeAB), uintptr(g.ldb), uintptr(g.strideB), g.beta,
		g.c, uintptr(g.typeC), uintptr(g.ldc), uintptr(g.strideC), uintptr(g.batch),
		uintptr(cublasCompute32F), uintptr(0xFFFFFFFF)) // CUBLAS_GEMM_DEFAULT (-1)
	return int32(r)
}
