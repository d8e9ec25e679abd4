package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/sdtp/sdtp/internal/half"
)

// The element types this package hands out. Others may appear in a file;
// they are checked for size but reported as unsupported when requested.
const (
	F32  = "F32"
	BF16 = "BF16"
	F16  = "F16"
)

// elemSizes holds the byte size of every dtype the safetensors format names.
var elemSizes = map[string]int{
	"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "F8_E8M0": 1,
	"I16": 2, "U16": 2, F16: 2, BF16: 2,
	"I32": 4, "U32": 4, F32: 4,
	"I64": 8, "U64": 8, "F64": 8,
}

// DTypeSize returns the size in bytes of one element of dtype, and false for
// a dtype the format does not name (or one smaller than a byte).
func DTypeSize(dtype string) (int, bool) {
	n, ok := elemSizes[dtype]
	return n, ok
}

// Supported reports whether dtype is one this package hands out (F32, BF16, F16).
func Supported(dtype string) bool {
	return dtype == F32 || dtype == BF16 || dtype == F16
}

// BF16ToFloat32 widens a bfloat16 bit pattern to float32 (exact).
func BF16ToFloat32(b uint16) float32 { return half.BF16ToF32(b) }

// Float32ToBF16 rounds f to the nearest bfloat16, ties to even; NaN stays NaN.
func Float32ToBF16(f float32) uint16 { return half.F32ToBF16(f) }

// F16ToFloat32 widens an IEEE binary16 bit pattern to float32 (exact).
func F16ToFloat32(h uint16) float32 { return half.F16ToF32(h) }

// NumElements returns the product of the tensor's shape (1 for a scalar).
func (t Tensor) NumElements() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Float32s decodes the tensor's elements (F32, BF16 or F16) into a new
// float32 slice. Widening BF16 and F16 is exact.
func (t Tensor) Float32s() ([]float32, error) {
	size, ok := DTypeSize(t.DType)
	if !ok || !Supported(t.DType) {
		return nil, fmt.Errorf("tensor %q: dtype %s is not supported (want F32, BF16 or F16)", t.Name, t.DType)
	}
	n := t.NumElements()
	if len(t.Data) != n*size {
		return nil, fmt.Errorf("tensor %q: %d data bytes, shape %v needs %d", t.Name, len(t.Data), t.Shape, n*size)
	}
	out := make([]float32, n)
	d := t.Data
	switch t.DType {
	case F32:
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(d[4*i:]))
		}
	case BF16:
		for i := range out {
			out[i] = BF16ToFloat32(binary.LittleEndian.Uint16(d[2*i:]))
		}
	case F16:
		for i := range out {
			out[i] = F16ToFloat32(binary.LittleEndian.Uint16(d[2*i:]))
		}
	}
	return out, nil
}
