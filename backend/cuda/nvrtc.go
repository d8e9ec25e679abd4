package cuda

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/sdtp/sdtp/internal/atomicfile"
)

// nvrtc holds the libnvrtc entry points the backend uses.
type nvrtc struct {
	name                   string
	nvrtcVersion           func(major, minor *int32) int32
	nvrtcGetErrorString    func(res int32) string
	nvrtcCreateProgram     func(prog *uintptr, src, name string, nHeaders int32, headers, includeNames uintptr) int32
	nvrtcCompileProgram    func(prog uintptr, nOpts int32, opts **byte) int32
	nvrtcDestroyProgram    func(prog *uintptr) int32
	nvrtcGetProgramLogSize func(prog uintptr, n *uint64) int32
	nvrtcGetProgramLog     func(prog uintptr, log *byte) int32
	nvrtcGetCUBINSize      func(prog uintptr, n *uint64) int32
	nvrtcGetCUBIN          func(prog uintptr, out *byte) int32
	nvrtcGetPTXSize        func(prog uintptr, n *uint64) int32
	nvrtcGetPTX            func(prog uintptr, out *byte) int32
}

// nvrtcNames lists the sonames tried, newest first.
var nvrtcNames = []string{"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so"}

// openNVRTC loads the run-time compiler.
func openNVRTC() (*nvrtc, error) {
	lib, name, err := openLib(nvrtcNames...)
	if err != nil {
		return nil, fmt.Errorf("NVRTC (CUDA run-time compiler) not found; add the CUDA toolkit's lib folder to LD_LIBRARY_PATH: %w", err)
	}
	n := &nvrtc{name: name}
	err = bind(lib, name, []symbol{
		{"nvrtcVersion", &n.nvrtcVersion},
		{"nvrtcGetErrorString", &n.nvrtcGetErrorString},
		{"nvrtcCreateProgram", &n.nvrtcCreateProgram},
		{"nvrtcCompileProgram", &n.nvrtcCompileProgram},
		{"nvrtcDestroyProgram", &n.nvrtcDestroyProgram},
		{"nvrtcGetProgramLogSize", &n.nvrtcGetProgramLogSize},
		{"nvrtcGetProgramLog", &n.nvrtcGetProgramLog},
		{"nvrtcGetCUBINSize", &n.nvrtcGetCUBINSize},
		{"nvrtcGetCUBIN", &n.nvrtcGetCUBIN},
		{"nvrtcGetPTXSize", &n.nvrtcGetPTXSize},
		{"nvrtcGetPTX", &n.nvrtcGetPTX},
	})
	if err != nil {
		return nil, err
	}
	return n, nil
}

// version returns "major.minor" of the compiler.
func (n *nvrtc) version() string {
	var major, minor int32
	n.nvrtcVersion(&major, &minor)
	return fmt.Sprintf("%d.%d", major, minor)
}

// compiled is the output of one compilation: a cubin, or PTX when the
// compiler cannot emit machine code for the architecture.
type compiled struct {
	image []byte // NUL-terminated when PTX
	isPTX bool
	log   string
}

// compile builds src for compute capability major.minor. It asks for a
// cubin (sm_XY) first and falls back to PTX (compute_XY) for the driver
// to finish, which covers compilers older than the device.
func (n *nvrtc) compile(src, name string, major, minor int, opts []string) (compiled, error) {
	arch := fmt.Sprintf("%d%d", major, minor)
	c, err := n.compileArch(src, name, "--gpu-architecture=sm_"+arch, opts, false)
	if err == nil {
		return c, nil
	}
	c2, err2 := n.compileArch(src, name, "--gpu-architecture=compute_"+arch, opts, true)
	if err2 != nil {
		return compiled{}, errors.Join(err, err2)
	}
	return c2, nil
}

func (n *nvrtc) compileArch(src, name, archOpt string, opts []string, ptx bool) (compiled, error) {
	var prog uintptr
	if r := n.nvrtcCreateProgram(&prog, src, name, 0, 0, 0); r != 0 {
		return compiled{}, fmt.Errorf("nvrtcCreateProgram %s: %s", name, n.nvrtcGetErrorString(r))
	}
	defer n.nvrtcDestroyProgram(&prog)

	all := append([]string{archOpt}, opts...)
	var pin runtime.Pinner
	defer pin.Unpin()
	cstrs := make([]*byte, len(all))
	for i, o := range all {
		b := append([]byte(o), 0)
		pin.Pin(&b[0])
		cstrs[i] = &b[0]
	}
	r := n.nvrtcCompileProgram(prog, int32(len(cstrs)), &cstrs[0])
	log := n.log(prog)
	if r != 0 {
		return compiled{}, fmt.Errorf("NVRTC (%s) compiling %s with %s: %s\n%s", n.name, name, archOpt, n.nvrtcGetErrorString(r), log)
	}
	var size uint64
	out := compiled{isPTX: ptx, log: log}
	if ptx {
		n.nvrtcGetPTXSize(prog, &size)
		out.image = make([]byte, size)
		r = n.nvrtcGetPTX(prog, &out.image[0])
	} else {
		n.nvrtcGetCUBINSize(prog, &size)
		if size == 0 {
			return compiled{}, fmt.Errorf("NVRTC produced no cubin for %s", archOpt)
		}
		out.image = make([]byte, size)
		r = n.nvrtcGetCUBIN(prog, &out.image[0])
	}
	if r != 0 {
		return compiled{}, fmt.Errorf("NVRTC output of %s: %s", name, n.nvrtcGetErrorString(r))
	}
	return out, nil
}

func (n *nvrtc) log(prog uintptr) string {
	var size uint64
	if n.nvrtcGetProgramLogSize(prog, &size) != 0 || size <= 1 {
		return ""
	}
	buf := make([]byte, size)
	n.nvrtcGetProgramLog(prog, &buf[0])
	return strings.TrimRight(string(buf), "\x00\n")
}

// kernelCache stores compiled images on disk keyed by everything that
// changes the output.
type kernelCache struct {
	dir string // empty: no caching
}

// newKernelCache uses os.UserCacheDir()/sdtp/cuda; with no cache folder
// available it caches nothing.
func newKernelCache() kernelCache {
	d, err := os.UserCacheDir()
	if err != nil {
		return kernelCache{}
	}
	return kernelCache{dir: filepath.Join(d, "sdtp", "cuda")}
}

// key hashes the parts that determine a compiled image.
func cacheKey(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s;", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (c kernelCache) load(key string) ([]byte, bool) {
	if c.dir == "" {
		return nil, false
	}
	b, err := os.ReadFile(filepath.Join(c.dir, key+".bin"))
	if err != nil || len(b) == 0 {
		return nil, false
	}
	return b, true
}

// store writes atomically (temp file, rename); failures only cost a
// recompilation next time, so they are ignored.
func (c kernelCache) store(key string, image []byte) {
	if c.dir == "" {
		return
	}
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return
	}
	_ = atomicfile.WriteFile(filepath.Join(c.dir, key+".bin"), image)
}
