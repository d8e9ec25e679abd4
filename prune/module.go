package prune

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/sdtp/sdtp/backend"
)

// Stage holds the MLP of one pruning location: fc1 (Hidden→Width), exact
// GELU, fc2 (Width→2). Column 0 of the output is the keep logit, column 1
// the drop logit; a token's score is keep − drop.
type Stage struct {
	W1 []float32 // Width×Hidden, row-major
	B1 []float32 // Width
	W2 []float32 // 2×Width
	B2 []float32 // 2
}

// ModelInfo names the model a module was made for.
type ModelInfo struct {
	Name   string `json:"name"`
	Arch   string `json:"arch"`
	Hidden int    `json:"hidden_size"`
	Layers int    `json:"num_layers"`
}

// Module is a set of pruning MLPs, one per location of its schedule.
type Module struct {
	Schedule Schedule
	Width    int
	Model    ModelInfo
	// Training records how the module was made, as a JSON object whose
	// "kind" says who made it: {"kind": "random", "seed": S} here,
	// train.Record for trained modules.
	Training json.RawMessage
	Stages   []Stage
}

// NewRandom makes a module with deterministic random weights (the scores
// are meaningless, which is fine for speed work: latency does not depend on
// them). width 0 means hidden/4.
func NewRandom(info ModelInfo, s Schedule, width int, seed uint64) (*Module, error) {
	if err := s.Validate(info.Layers); err != nil {
		return nil, err
	}
	if width <= 0 {
		width = max(1, info.Hidden/4)
	}
	if err := CheckWidth(width, info.Hidden); err != nil {
		return nil, err
	}
	rec, err := json.Marshal(struct {
		Kind string `json:"kind"`
		Seed uint64 `json:"seed"`
	}{"random", seed})
	if err != nil {
		return nil, err
	}
	m := &Module{Schedule: s, Width: width, Model: info, Training: rec}
	d := info.Hidden
	for i := range s.Locations {
		st := Stage{W1: make([]float32, width*d), B1: make([]float32, width), W2: make([]float32, 2*width), B2: make([]float32, 2)}
		base := seed + uint64(i)*4
		fill(st.W1, base, float32(math.Sqrt(3/float64(d))))
		fill(st.B1, base+1, 0.02)
		fill(st.W2, base+2, float32(math.Sqrt(3/float64(width))))
		fill(st.B2, base+3, 0.02)
		m.Stages = append(m.Stages, st)
	}
	return m, nil
}

// MaxWidthFactor bounds a module's MLP width as a multiple of the model's
// hidden size: the modules are meant to be small next to the model (the
// default is a quarter of the hidden size), and the bound keeps a mistyped
// width from exhausting memory.
const MaxWidthFactor = 16

// CheckWidth reports whether width is a usable MLP width for a model of
// the given hidden size: from 1 to MaxWidthFactor·hidden.
func CheckWidth(width, hidden int) error {
	if width < 1 || width/MaxWidthFactor > hidden || width > MaxWidthFactor*hidden {
		return fmt.Errorf("module width %d must be from 1 to %d (%d× the hidden size %d)", width, MaxWidthFactor*hidden, MaxWidthFactor, hidden)
	}
	return nil
}

func fill(v []float32, seed uint64, scale float32) {
	for i := range v {
		v[i] = backend.RandomValue(seed, uint64(i)) * scale
	}
}

// Check verifies that the module fits a model and that its arrays have the
// sizes its header claims.
func (m *Module) Check(hidden, layers int) error {
	if m.Model.Hidden != hidden {
		return fmt.Errorf("pruning module was made for hidden size %d, the model has %d", m.Model.Hidden, hidden)
	}
	if m.Model.Layers != layers {
		return fmt.Errorf("pruning module was made for %d layers, the model has %d", m.Model.Layers, layers)
	}
	if err := m.Schedule.Validate(layers); err != nil {
		return fmt.Errorf("pruning module: %w", err)
	}
	if len(m.Stages) != len(m.Schedule.Locations) {
		return fmt.Errorf("pruning module has %d stages for %d locations", len(m.Stages), len(m.Schedule.Locations))
	}
	for i, st := range m.Stages {
		if len(st.W1) != m.Width*hidden || len(st.B1) != m.Width || len(st.W2) != 2*m.Width || len(st.B2) != 2 {
			return fmt.Errorf("pruning module stage %d: weight sizes do not match width %d and hidden %d", i, m.Width, hidden)
		}
	}
	return nil
}

// Scores computes, on the host in float64, the score of each row of hidden
// (n×Hidden) at stage index i. It is the reference the backend path is
// checked against, and what the CPU trainer uses.
func (m *Module) Scores(i int, hidden []float32, n int) []float32 {
	st := &m.Stages[i]
	d, w := m.Model.Hidden, m.Width
	out := make([]float32, n)
	a := make([]float64, w)
	for r := 0; r < n; r++ {
		x := hidden[r*d : (r+1)*d]
		for j := 0; j < w; j++ {
			s := float64(st.B1[j])
			row := st.W1[j*d : (j+1)*d]
			for k, v := range x {
				s += float64(row[k]) * float64(v)
			}
			a[j] = s * 0.5 * (1 + math.Erf(s/math.Sqrt2))
		}
		keep, drop := float64(st.B2[0]), float64(st.B2[1])
		for j := 0; j < w; j++ {
			keep += float64(st.W2[j]) * a[j]
			drop += float64(st.W2[w+j]) * a[j]
		}
		out[r] = float32(keep - drop)
	}
	return out
}
