// Package testmodel opens the synthetic tiny model on a CPU backend of its
// own for tests, both closed when the test ends.
package testmodel

import (
	"testing"

	"github.com/sdtp/sdtp/backend"
	_ "github.com/sdtp/sdtp/backend/cpu" // the backend Tiny opens
	"github.com/sdtp/sdtp/model"
)

// Tiny returns synthetic:tiny with weights of type dt made from seed, on a
// two-thread CPU backend.
func Tiny(t testing.TB, dt backend.DType, seed uint64) *model.Model {
	t.Helper()
	b, err := backend.Open("cpu", backend.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	c, err := model.SyntheticConfig("tiny")
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.NewSynthetic(b, c, model.SyntheticOptions{Seed: seed, DType: dt})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}
