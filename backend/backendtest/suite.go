// Package backendtest is the conformance suite every backend.Backend must
// pass: one table-driven subtest per op, fresh random inputs each run
// (the seed is logged), a float64 reference implementation of each op,
// relative-error bounds ‖out−ref‖/‖ref‖, outputs poisoned with NaN before
// the op to catch unwritten elements, views whose neighbouring rows must
// stay untouched, and awkward sizes.
//
// A backend's test calls it:
//
//	func TestConformance(t *testing.T) {
//		b, err := backend.Open("cpu", backend.Options{})
//		...
//		backendtest.Run(t, b, backendtest.Options{})
//	}
package backendtest

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/sdtp/sdtp/backend"
)

// DefaultTol is the relative-error bound of ops on f32 activations when
// Options.Tol is zero. It allows float32 rounding and accumulation over
// a few thousand terms, and nothing more.
const DefaultTol = 1e-5

// Options tune the suite to a backend's arithmetic.
type Options struct {
	// Tol bounds the relative error of every op on f32 activations
	// (0: DefaultTol). Weight values are rounded to their dtype in the
	// reference too, so only accumulation error remains.
	Tol float64
	// WeightTol overrides Tol, per weight dtype, for the ops that read
	// weights (MatMul, Embed, RMSNorm): for a backend that multiplies
	// bf16 weights by activations rounded to bf16, say.
	WeightTol map[backend.DType]float64
	// ActivationTol is added to every bound, exact ops included, for a
	// backend that holds activations in a narrower type than f32 (about
	// 1e-2 for bf16). Zero for f32 activations: copies must be exact.
	ActivationTol float64
	// Seed fixes the random inputs (0: a fresh seed, logged).
	Seed uint64
}

// Run runs the whole suite on b. It leaves b open.
func Run(t *testing.T, b backend.Backend, o Options) {
	if o.Tol == 0 {
		o.Tol = DefaultTol
	}
	seed := o.Seed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("backendtest: %s on %s, seed %d (set Options.Seed to repeat)", b.Name(), b.Device(), seed)
	s := &suite{b: b, o: o, rng: rand.New(rand.NewPCG(seed, 0x5d7b))}
	tests := []struct {
		name string
		fn   func(*testing.T)
	}{
		{"HostRoundTrip", s.testHostRoundTrip},
		{"View", s.testView},
		{"NewWeight", s.testNewWeight},
		{"RandomWeight", s.testRandomWeight},
		{"ConstWeight", s.testConstWeight},
		{"Embed", s.testEmbed},
		{"MatMul", s.testMatMul},
		{"RMSNorm", s.testRMSNorm},
		{"RoPE", s.testRoPE},
		{"SiLUMul", s.testSiLUMul},
		{"GELU", s.testGELU},
		{"Add", s.testAdd},
		{"Copy", s.testCopy},
		{"Gather", s.testGather},
		{"Attention", s.testAttention},
		{"BatchAttention", s.testBatchAttention},
		{"ScatterRows", s.testScatterRows},
		{"AttentionMass", s.testAttentionMass},
		{"AddRMSNorm", s.testAddRMSNorm},
		{"QKV", s.testQKV},
		{"GateUp", s.testGateUp},
		{"Memory", s.testMemory},
		{"Zero", s.testZero},
		{"MatMulBackInput", s.testMatMulBackInput},
		{"MatMulBackWeight", s.testMatMulBackWeight},
		{"RMSNormBack", s.testRMSNormBack},
		{"SiLUMulBack", s.testSiLUMulBack},
		{"GELUBack", s.testGELUBack},
		{"RowDot", s.testRowDot},
		{"MaskedAttention", s.testMaskedAttention},
		{"MaskedAttentionBack", s.testMaskedAttentionBack},
		{"CrossEntropy", s.testCrossEntropy},
		{"SoftCrossEntropy", s.testSoftCrossEntropy},
	}
	for _, tc := range tests {
		t.Run(tc.name, tc.fn)
	}
	if err := b.Sync(); err != nil {
		t.Errorf("Sync after the suite: %v", err)
	}
}

// suite carries the backend, the options and the random source. Subtests
// run one after another, so the source needs no lock.
type suite struct {
	b   backend.Backend
	o   Options
	rng *rand.Rand
}

// tol is the bound for an op on f32 activations.
func (s *suite) tol() float64 { return s.o.Tol + s.o.ActivationTol }

// weightTol is the bound for an op reading weights of type dt.
func (s *suite) weightTol(dt backend.DType) float64 {
	if v, ok := s.o.WeightTol[dt]; ok {
		return v + s.o.ActivationTol
	}
	return s.tol()
}

// exactTol is the bound for ops that only move values (zero for f32).
func (s *suite) exactTol() float64 { return s.o.ActivationTol }

// normals returns n values drawn from N(0, sd²).
func (s *suite) normals(n int, sd float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(s.rng.NormFloat64() * sd)
	}
	return v
}

var dtypes = []backend.DType{backend.F32, backend.BF16, backend.F16}
