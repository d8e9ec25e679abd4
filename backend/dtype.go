package backend

import "github.com/sdtp/sdtp/internal/half"

// BF16ToF32 widens a bfloat16 bit pattern to float32 (exact).
func BF16ToF32(b uint16) float32 { return half.BF16ToF32(b) }

// F32ToBF16 rounds f to the nearest bfloat16, ties to even (NaN stays NaN).
func F32ToBF16(f float32) uint16 { return half.F32ToBF16(f) }

// F16ToF32 widens an IEEE binary16 bit pattern to float32 (exact).
func F16ToF32(h uint16) float32 { return half.F16ToF32(h) }

// F32ToF16 rounds f to the nearest binary16, ties to even, with overflow to Inf.
func F32ToF16(f float32) uint16 { return half.F32ToF16(f) }
