package cuda

import (
	"os"
	"strings"
	"testing"
)

// TestKernelsCompile compiles the embedded kernels for Hopper, in the bf16
// build and the float32 build (-DSDTP_F32), with whatever NVRTC is
// installed (no GPU needed); it skips where NVRTC is absent.
func TestKernelsCompile(t *testing.T) {
	n, err := openNVRTC()
	if err != nil {
		t.Skip(err)
	}
	for _, tc := range []struct {
		name string
		f32  bool
	}{{"bf16", false}, {"f32", true}} {
		t.Run(tc.name, func(t *testing.T) {
			opts := compileOptions
			if tc.f32 {
				opts = append(append([]string(nil), opts...), "-DSDTP_F32")
			}
			c, err := n.compile(kernelSource(), "sdtp_kernels.cu", 9, 0, opts)
			if err != nil {
				t.Fatal(err)
			}
			if c.log != "" {
				t.Logf("NVRTC %s log:\n%s", n.version(), c.log)
			}
			if dir := os.Getenv("SDTP_CUBIN_OUT"); dir != "" && !tc.f32 {
				ext := ".cubin"
				if c.isPTX {
					ext = ".ptx"
				}
				if err := os.WriteFile(dir+"/kernels"+ext, c.image, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			for _, name := range kernelNames {
				has := strings.Contains(string(c.image), name)
				if want := !tc.f32 || !bf16OnlyKernel(name); has != want {
					t.Errorf("kernel %s in the compiled image: %v, want %v", name, has, want)
				}
			}
		})
	}
}
