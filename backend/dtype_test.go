package backend

import (
	"math"
	"testing"
)

func TestRandomValueRange(t *testing.T) {
	var sum float64
	for i := uint64(0); i < 100000; i++ {
		v := RandomValue(7, i)
		if v < -1 || v >= 1 {
			t.Fatalf("value %v out of [-1,1)", v)
		}
		sum += float64(v)
	}
	if m := sum / 100000; math.Abs(m) > 0.01 {
		t.Errorf("mean %v, want near 0", m)
	}
	if RandomValue(1, 5) == RandomValue(2, 5) {
		t.Error("seed does not change the value")
	}
}
