package train

import (
	"encoding/json"
	"fmt"

	"github.com/sdtp/sdtp/internal/version"
	"github.com/sdtp/sdtp/prune"
)

// RecordKind is the kind of a module 'sdtp train' made.
const RecordKind = "trained"

// Record says how 'sdtp train' made a module; it is stored as the module
// file's training record (prune.Module.Training). The fields stand in the
// order of their JSON names, the order the record had when it was written
// from a map, so files stay byte for byte the same.
type Record struct {
	// Backend says where the frozen model ran when it was not the host
	// (train/dlm on a GPU); empty for the float64 host decoder.
	Backend    string `json:"backend,omitempty"`
	Config     Config `json:"config"`
	Data       string `json:"data"`
	FirstEpoch Terms  `json:"first_epoch"`
	Kind       string `json:"kind"`
	LastEpoch  Terms  `json:"last_epoch"`
	MaxTokens  int    `json:"max_tokens"`
	Revision   string `json:"revision"`
	Steps      int    `json:"steps"`
	Texts      int    `json:"texts"`
	Version    string `json:"version"`
}

// NewRecord is the record of a run of this program that trained on the
// data file's texts, cut to maxTokens, with cfg, to res.
func NewRecord(data string, texts, maxTokens int, cfg Config, res *Result) *Record {
	return &Record{Kind: RecordKind, Data: data, Texts: texts, MaxTokens: maxTokens, Steps: res.Steps,
		Config: cfg, FirstEpoch: res.First, LastEpoch: res.Last, Version: version.Version, Revision: version.Revision()}
}

// JSON encodes the record for prune.Module.Training.
func (r *Record) JSON() (json.RawMessage, error) { return json.Marshal(r) }

// ReadRecord returns the training record of a module that 'sdtp train'
// made; ok is false for other modules (random ones, or none recorded).
func ReadRecord(m *prune.Module) (r Record, ok bool, err error) {
	if len(m.Training) == 0 {
		return Record{}, false, nil
	}
	if err := json.Unmarshal(m.Training, &r); err != nil {
		return Record{}, false, fmt.Errorf("training record: %w", err)
	}
	return r, r.Kind == RecordKind, nil
}

// TrainedSaliency returns the saliency a module was trained to rank: the
// importance target and the positions T averaged ("continuation" or
// "sequence"); abs over the continuation for a module 'sdtp train' did not
// make, which is what it trains by default.
func TrainedSaliency(m *prune.Module) (Target, string, error) {
	r, ok, err := ReadRecord(m)
	switch {
	case err != nil:
		return "", "", err
	case !ok:
		return TargetAbs, "continuation", nil
	case r.Config.Loss.WholeSequenceSaliency:
		return r.Config.Loss.Target, "sequence", nil
	}
	return r.Config.Loss.Target, "continuation", nil
}
