// Package testmodel opens backends, models and tokenizers for tests: each is closed
// when the test ends, and a failure to open fails the test (or skips it,
// for a GPU backend off the GPU machine or shared test data that is
// absent).
package testmodel

import (
	"os"
	"testing"

	"github.com/sdtp/sdtp/backend"
	_ "github.com/sdtp/sdtp/backend/cpu" // the backend Tiny and Stories260K open
	"github.com/sdtp/sdtp/internal/testdata"
	"github.com/sdtp/sdtp/model"
	"github.com/sdtp/sdtp/tokenizer"
)

// Backend opens the backend name with o. A backend other than "cpu" that
// does not open skips the test, unless SDTP_CUDA=1 (the GPU machine, where
// a GPU backend must open), which makes it a failure. The test imports the
// backends it names other than "cpu".
func Backend(t testing.TB, name string, o backend.Options) backend.Backend {
	t.Helper()
	b, err := backend.Open(name, o)
	if err != nil {
		if name != "cpu" && os.Getenv("SDTP_CUDA") != "1" {
			t.Skipf("backend %s: %v", name, err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// Open opens the model spec on b: a Hugging Face folder, a llama2.c
// checkpoint or synthetic:NAME, as model.Open takes it.
func Open(t testing.TB, b backend.Backend, spec string) *model.Model {
	t.Helper()
	m, err := model.Open(b, spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// Config returns the configuration of the named synthetic shape (see
// model.SyntheticConfig).
func Config(t testing.TB, shape string) model.Config {
	t.Helper()
	c, err := model.SyntheticConfig(shape)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Synthetic makes a synthetic model of configuration c on b with o.
func Synthetic(t testing.TB, b backend.Backend, c model.Config, o model.SyntheticOptions) *model.Model {
	t.Helper()
	m, err := model.NewSynthetic(b, c, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// Tiny returns synthetic:tiny with weights of type dt made from seed, on a
// two-thread CPU backend of its own.
func Tiny(t testing.TB, dt backend.DType, seed uint64) *model.Model {
	t.Helper()
	return Synthetic(t, CPU(t), Config(t, "tiny"), model.SyntheticOptions{Seed: seed, DType: dt})
}

// Positions returns the position ids from, from+1, ..., from+n-1.
func Positions(n, from int) []int32 {
	p := make([]int32, n)
	for i := range p {
		p[i] = int32(from + i)
	}
	return p
}

// Stories260KPath returns the path of llama2.c's stories260K checkpoint
// in the shared test data; the test skips where it is absent.
func Stories260KPath(t testing.TB) string {
	t.Helper()
	return testdata.Path(t, "llama2c/stories260K.bin")
}

// Stories260KFiles returns the paths of llama2.c's stories260K checkpoint
// and of its 512-token tokenizer (tok512.bin) in the shared test data; the
// test skips where they are absent.
func Stories260KFiles(t testing.TB) (ckpt, tok string) {
	t.Helper()
	return Stories260KPath(t), testdata.Path(t, "llama2c/tok512.bin")
}

// Stories260K opens llama2.c's stories260K checkpoint on a two-thread CPU
// backend of its own.
func Stories260K(t testing.TB) *model.Model {
	t.Helper()
	path := Stories260KPath(t)
	return Open(t, CPU(t), path)
}

// Tokenizer loads the tokenizer at rel in the shared test data (see
// testdata.Path: the test skips where it is absent).
func Tokenizer(t testing.TB, rel string) tokenizer.Tokenizer {
	t.Helper()
	tok, err := tokenizer.Load(testdata.Path(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// CPU opens a two-thread CPU backend.
func CPU(t testing.TB) backend.Backend {
	t.Helper()
	return Backend(t, "cpu", backend.Options{Threads: 2})
}
