package main

import (
	"slices"
	"testing"

	"github.com/sdtp/sdtp/backend"
	"github.com/sdtp/sdtp/bench"
	"github.com/sdtp/sdtp/internal/testmodel"
)

// freeMemory is a backend that reports free device memory, as a GPU does.
type freeMemory struct {
	backend.Backend
	free int64
}

func (f freeMemory) FreeMemory() (free, total int64, err error) { return f.free, f.free, nil }

// TestBenchLongDefaults: the GPU's default lengths reach 64K and 128K
// where the memory left after the weights holds the unpruned row, and the
// CPU's (no free-memory report) stay as they are.
func TestBenchLongDefaults(t *testing.T) {
	cpu := testmodel.Backend(t, "cpu", backend.Options{Threads: 1})
	o := bench.DefaultOptions("cuda")
	for _, tc := range []struct {
		b    backend.Backend
		want []int
	}{
		{freeMemory{cpu, 80 << 30}, append(slices.Clone(o.Lengths), 65536, 131072)}, // an H100: 14.5 GB of Mistral-7B weights
		{freeMemory{cpu, 24 << 30}, o.Lengths},                                      // 24 GB: 64K needs about 15 GB more than the weights' 14.5
		{cpu, o.Lengths},
	} {
		if got := longDefaults(tc.b, "synthetic:mistral-7b", o); !slices.Equal(got, tc.want) {
			t.Errorf("%T: %v, want %v", tc.b, got, tc.want)
		}
	}
}
