package cuda

import (
	"os"
	"strings"
	"testing"
)

// TestKernelsCompile compiles the embedded kernels for Hopper with whatever
// NVRTC is installed (no GPU needed); it skips where NVRTC is absent.
func TestKernelsCompile(t *testing.T) {
	n, err := openNVRTC()
	if err != nil {
		t.Skip(err)
	}
	c, err := n.compile(kernelSource(), "sdtp_kernels.cu", 9, 0, compileOptions)
	if err != nil {
		t.Fatal(err)
	}
	if c.log != "" {
		t.Logf("NVRTC %s log:\n%s", n.version(), c.log)
	}
	if dir := os.Getenv("SDTP_CUBIN_OUT"); dir != "" {
		ext := ".cubin"
		if c.isPTX {
			ext = ".ptx"
		}
		if err := os.WriteFile(dir+"/kernels"+ext, c.image, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range kernelNames {
		if !strings.Contains(string(c.image), name) {
			t.Errorf("kernel %s missing from the compiled image", name)
		}
	}
}
