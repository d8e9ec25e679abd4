package train

import "github.com/sdtp/sdtp/internal/runmeta"

// Meta is the meta block of the files saliency and 'train eval' write.
type Meta struct {
	runmeta.Meta
	Model    string `json:"model"`
	Backend  string `json:"backend"`
	Data     string `json:"data,omitempty"`
	Schedule string `json:"schedule,omitempty"`
}

// NewMeta is the meta block of a run with the command line argv over the
// model (run on backend, as said for people) and data files given.
func NewMeta(argv []string, model, backend, data string) Meta {
	return Meta{Meta: runmeta.New(argv), Model: model, Backend: backend, Data: data}
}

// UnmarshalJSON reads the block, old field spellings included.
func (m *Meta) UnmarshalJSON(data []byte) error {
	type plain Meta
	return runmeta.Unmarshal(data, (*plain)(m), &m.Meta)
}

// SaliencyFormat names the saliency file layout documented in
// docs/TRAINING.md.
const SaliencyFormat = "sdtp-saliency/1"

// SaliencyHeader is the first line of a saliency file; WriteSaliency
// writes the lines after it.
type SaliencyHeader struct {
	Meta   Meta   `json:"meta"`
	Format string `json:"format"`
	Layers int    `json:"layers"`
	Hidden int    `json:"hidden_size"`
	Texts  int    `json:"texts"`
	// Continuation is the number of final tokens whose predictions T
	// averages (0: every position).
	Continuation int `json:"continuation"`
}

// EvalFile is the JSON report 'train eval' writes.
type EvalFile struct {
	Meta   Meta           `json:"meta"`
	Config EvalFileConfig `json:"config"`
	Report *EvalReport    `json:"report"`
}

// EvalFileConfig is what an evaluation compared, and how.
type EvalFileConfig struct {
	Locations    []int    `json:"locations"`
	Ratio        float64  `json:"ratio"`
	Continuation int      `json:"continuation"`
	Target       string   `json:"target"`
	SaliencyOver string   `json:"saliency_over"`
	Modules      []string `json:"modules"`
	RandomSeed   uint64   `json:"random_seed"`
}
