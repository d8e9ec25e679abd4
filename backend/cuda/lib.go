package cuda

import (
	"fmt"
	"strings"
	"unsafe"

	"github.com/ebitengine/purego"
)

// openLib dlopens the first of names that loads and returns its handle.
func openLib(names ...string) (uintptr, string, error) {
	var errs []string
	for _, n := range names {
		h, err := purego.Dlopen(n, purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err == nil {
			return h, n, nil
		}
		errs = append(errs, err.Error())
	}
	return 0, "", fmt.Errorf("cannot load any of %s: %s", strings.Join(names, ", "), strings.Join(errs, "; "))
}

// symbol is one C function to bind: a pointer to a Go func variable (bound
// through purego.RegisterFunc) or to a uintptr (the raw address, for calls
// made with purego.SyscallN on hot paths).
type symbol struct {
	name string
	fn   any
}

// bind resolves every symbol in lib, failing on the first missing one.
func bind(lib uintptr, libName string, syms []symbol) error {
	for _, s := range syms {
		addr, err := purego.Dlsym(lib, s.name)
		if err != nil || addr == 0 {
			return fmt.Errorf("%s: missing symbol %s", libName, s.name)
		}
		if p, ok := s.fn.(*uintptr); ok {
			*p = addr
			continue
		}
		purego.RegisterFunc(s.fn, addr)
	}
	return nil
}

// goString copies a NUL-terminated C string.
func goString(p *byte) string {
	if p == nil {
		return ""
	}
	var b []byte
	for i := 0; ; i++ {
		c := *(*byte)(unsafe.Add(unsafe.Pointer(p), i))
		if c == 0 {
			return string(b)
		}
		b = append(b, c)
	}
}
