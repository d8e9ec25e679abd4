package half

import (
	"math"
	"testing"
)

func TestBF16RoundTrip(t *testing.T) {
	tests := []struct {
		in   float32
		want float32
	}{
		{1, 1},
		{-2.5, -2.5},
		{1 + 1.0/256, 1},           // tie below: even stays
		{1 + 3.0/256, 1 + 4.0/256}, // tie: rounds to even
		{float32(math.Inf(1)), float32(math.Inf(1))},
	}
	for _, tc := range tests {
		if got := BF16ToF32(F32ToBF16(tc.in)); got != tc.want {
			t.Errorf("bf16(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	if nan := BF16ToF32(F32ToBF16(float32(math.NaN()))); !math.IsNaN(float64(nan)) {
		t.Errorf("NaN became %v", nan)
	}
}

func TestF16AllPatterns(t *testing.T) {
	// Every finite binary16 value converts to float32 and back unchanged.
	for h := 0; h < 1<<16; h++ {
		f := F16ToF32(uint16(h))
		if math.IsNaN(float64(f)) {
			continue
		}
		if back := F32ToF16(f); back != uint16(h) {
			t.Fatalf("f16 %#04x -> %v -> %#04x", h, f, back)
		}
	}
	if got := F16ToF32(F32ToF16(65520)); !math.IsInf(float64(got), 1) {
		t.Errorf("65520 should overflow to +Inf, got %v", got)
	}
}
