package longbench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/sdtp/sdtp/internal/atomicfile"
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

// PredFile is the content of one predictions file.
type PredFile struct {
	Rows []Prediction
	// Lines holds the line number of each row in the file.
	Lines []int
	// Torn is the length of a last line cut short by a killed writer (no
	// trailing newline); those bytes are not in Rows.
	Torn int
	// Size is the byte length of the complete lines.
	Size int64
}

// ReadPredictions reads a predictions JSONL stream. Errors name the file
// and line.
func ReadPredictions(r io.Reader, name string) (PredFile, error) {
	var pf PredFile
	torn, err := readLines(&countingReader{r: r, n: &pf.Size}, name, func(line int, b []byte) error {
		p, err := ParsePrediction(b)
		if err != nil {
			return fmt.Errorf("%s line %d: %w", name, line, err)
		}
		pf.Rows = append(pf.Rows, p)
		pf.Lines = append(pf.Lines, line)
		return nil
	})
	if err != nil {
		return PredFile{}, err
	}
	pf.Torn = torn
	pf.Size -= int64(torn)
	return pf, nil
}

// ReadPredictionFile reads a predictions file from disk.
func ReadPredictionFile(path string) (PredFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return PredFile{}, err
	}
	defer f.Close()
	return ReadPredictions(f, path)
}

type countingReader struct {
	r io.Reader
	n *int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	*c.n += int64(n)
	return n, err
}

// predWriter appends predictions to a file, one whole line per write,
// synced to disk before the next, so a killed run leaves at most one torn
// last line (which openPredWriter cuts off on resume).
type predWriter struct {
	f *os.File
}

// openPredWriter opens path for appending after reading what it already
// holds; a torn last line is truncated away, and the lines of failed rows
// (Prediction.Error) are removed so that they are tried again. The rows
// returned are those kept.
func openPredWriter(path string) (*predWriter, PredFile, error) {
	var pf PredFile
	if _, err := os.Stat(path); err == nil {
		if pf, err = ReadPredictionFile(path); err != nil {
			return nil, PredFile{}, err
		}
		if pf.Torn > 0 {
			if err := os.Truncate(path, pf.Size); err != nil {
				return nil, PredFile{}, fmt.Errorf("cutting the torn last line of %s: %w", path, err)
			}
		}
		if pf, err = dropFailed(path, pf); err != nil {
			return nil, PredFile{}, err
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, PredFile{}, err
	}
	return &predWriter{f: f}, pf, nil
}

// dropFailed rewrites path (atomically) without the lines of pf's failed
// rows, when it has any, and returns what the file then holds.
func dropFailed(path string, pf PredFile) (PredFile, error) {
	failed := map[int]bool{}
	for i, p := range pf.Rows {
		if p.Error != "" {
			failed[pf.Lines[i]] = true
		}
	}
	if len(failed) == 0 {
		return pf, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return PredFile{}, err
	}
	var out bytes.Buffer
	for i, line := range bytes.SplitAfter(b, []byte("\n")) {
		if !failed[i+1] {
			out.Write(line)
		}
	}
	if err := atomicfile.WriteFile(path, out.Bytes()); err != nil {
		return PredFile{}, fmt.Errorf("removing the failed rows of %s to retry them: %w", path, err)
	}
	return ReadPredictionFile(path)
}

// Append writes p as one line and syncs it.
func (w *predWriter) Append(p Prediction) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil { // one line, newline included
		return fmt.Errorf("encoding prediction %s: %w", p.ID, err)
	}
	if _, err := w.f.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("writing %s: %w", w.f.Name(), err)
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", w.f.Name(), err)
	}
	return nil
}

// Close closes the file.
func (w *predWriter) Close() error { return w.f.Close() }
