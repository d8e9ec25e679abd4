package longbench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/sdtp/sdtp/evalrun"
)

// Prediction is one row of a predictions file: the official fields that
// pred.py writes (pred, answers, all_classes, length) plus the row id and
// what the runner measured.
type Prediction struct {
	ID           string   `json:"_id,omitempty"`
	Pred         string   `json:"pred"`
	Answers      []string `json:"answers"`
	AllClasses   []string `json:"all_classes"`
	Length       int      `json:"length"`
	PromptTokens int      `json:"prompt_tokens,omitempty"` // tokens of the prompt sent to the model
	AliveTokens  int      `json:"alive_tokens,omitempty"`  // prompt tokens alive after the last pruning stage
	Seconds      float64  `json:"seconds,omitempty"`       // wall time of generation
	// Error is set on a row whose prompt or generation failed; its pred is
	// empty and it scores 0. A resumed run tries the row again.
	Error string `json:"error,omitempty"`
}

// ParsePrediction decodes one predictions line: pred must be a string and
// answers an array of strings; all_classes may be null.
func ParsePrediction(b []byte) (Prediction, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return Prediction{}, fmt.Errorf("not a JSON object: %w", err)
	}
	for _, f := range []struct {
		name  string
		kinds string
	}{{"pred", "s"}, {"answers", "a"}} {
		v, ok := raw[f.name]
		if !ok {
			return Prediction{}, fmt.Errorf("field %q missing", f.name)
		}
		if k := jsonKind(v); !bytes.ContainsRune([]byte(f.kinds), rune(k)) {
			return Prediction{}, fmt.Errorf("field %q is %s, want %s", f.name, kindName(k), kindName(f.kinds[0]))
		}
	}
	var p Prediction
	if err := json.Unmarshal(b, &p); err != nil {
		return Prediction{}, fmt.Errorf("field types: %w", err)
	}
	return p, nil
}

// PredFile is the content of one predictions file: its rows, their line
// numbers, a torn last line's length and the complete lines' size.
type PredFile = evalrun.Contents[Prediction]

// ReadPredictions reads a predictions JSONL stream. Errors name the file
// and line.
func ReadPredictions(r io.Reader, name string) (PredFile, error) {
	return evalrun.Read(r, name, ParsePrediction)
}

// ReadPredictionFile reads a predictions file from disk.
func ReadPredictionFile(path string) (PredFile, error) {
	return evalrun.ReadFile(path, ParsePrediction)
}
