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
