package cuda

import (
	"testing"

	"github.com/sdtp/sdtp/backend/backendtest"
)

// TestConformance runs the shared backend suite on the GPU. Activations are
// bf16 on the device, hence ActivationTol.
func TestConformance(t *testing.T) {
	b := openForTest(t)
	backendtest.Run(t, b, backendtest.Options{ActivationTol: 1e-2})
}

// TestConformanceF32 runs the suite on "cuda-f32" with the default float32
// bounds: activations and weights are float32 there, GEMMs without TF32.
func TestConformanceF32(t *testing.T) {
	b := openWith(t, OpenF32)
	if b.Name() != "cuda-f32" || b.ActivationBytes() != 4 {
		t.Fatalf("OpenF32 gave %s with %d-byte activations", b.Name(), b.ActivationBytes())
	}
	backendtest.Run(t, b, backendtest.Options{})
}
