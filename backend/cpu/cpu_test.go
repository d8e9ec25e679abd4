package cpu

import (
	"testing"

	"github.com/sdtp/sdtp/backend"
	"github.com/sdtp/sdtp/backend/backendtest"
)

// TestConformance runs the conformance suite on every kernel set this CPU
// can run, on one worker and on several.
func TestConformance(t *testing.T) {
	for _, k := range kernelSets() {
		for _, threads := range []int{1, 3} {
			t.Run(k.name+"/"+string(rune('0'+threads))+"threads", func(t *testing.T) {
				b, err := newBackend(backend.Options{Threads: threads}, k)
				if err != nil {
					t.Fatal(err)
				}
				defer b.Close()
				backendtest.Run(t, b, backendtest.Options{})
			})
		}
	}
}

func TestOpenRegistered(t *testing.T) {
	b, err := backend.Open("cpu", backend.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Name() != "cpu" || b.Device() == "" {
		t.Errorf("Name %q, Device %q", b.Name(), b.Device())
	}
}
