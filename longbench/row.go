package longbench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/sdtp/sdtp/evalrun"
)

// Row is one LongBench v1 data row with the official fields.
type Row struct {
	Input      string   `json:"input"`
	Context    string   `json:"context"`
	Answers    []string `json:"answers"`
	Length     int      `json:"length"`
	Dataset    string   `json:"dataset"`
	Language   string   `json:"language"`
	AllClasses []string `json:"all_classes"` // null outside the classification tasks
	ID         string   `json:"_id"`
}

// rowFields are the fields every data row must have, with the JSON kinds
// each may take.
var rowFields = []struct {
	name  string
	kinds string // characters of jsonKind results allowed
}{
	{"input", "s"}, {"context", "s"}, {"answers", "a"}, {"length", "i"},
	{"dataset", "s"}, {"language", "s"}, {"all_classes", "an"}, {"_id", "s"},
}

// jsonKind classifies a raw JSON value: s string, a array, i integer,
// f other number, n null, b bool, o object.
func jsonKind(v json.RawMessage) byte {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return 0
	}
	switch v[0] {
	case '"':
		return 's'
	case '[':
		return 'a'
	case 'n':
		return 'n'
	case 't', 'f':
		return 'b'
	case '{':
		return 'o'
	}
	if bytes.ContainsAny(v, ".eE") {
		return 'f'
	}
	return 'i'
}

func kindName(k byte) string {
	switch k {
	case 's':
		return "a string"
	case 'a':
		return "an array"
	case 'i':
		return "an integer"
	case 'f':
		return "a non-integer number"
	case 'n':
		return "null"
	case 'b':
		return "a boolean"
	case 'o':
		return "an object"
	}
	return "nothing"
}

// ParseRow decodes one data line, checking that every official field is
// present with its type (answers and all_classes hold strings only).
func ParseRow(b []byte) (Row, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return Row{}, fmt.Errorf("not a JSON object: %w", err)
	}
	for _, f := range rowFields {
		v, ok := raw[f.name]
		if !ok {
			return Row{}, fmt.Errorf("field %q missing", f.name)
		}
		if k := jsonKind(v); !bytes.ContainsRune([]byte(f.kinds), rune(k)) {
			want := kindName(f.kinds[0])
			if len(f.kinds) > 1 {
				want += " or " + kindName(f.kinds[1])
			}
			return Row{}, fmt.Errorf("field %q is %s, want %s", f.name, kindName(k), want)
		}
	}
	var r Row
	if err := json.Unmarshal(b, &r); err != nil {
		return Row{}, fmt.Errorf("field types: %w", err)
	}
	if r.ID == "" {
		return Row{}, fmt.Errorf("field \"_id\" is empty")
	}
	if len(r.Answers) == 0 {
		return Row{}, fmt.Errorf("field \"answers\" is empty")
	}
	return r, nil
}

// ReadRows reads a LongBench data file (JSONL, one row per line). Errors
// name the file and line.
func ReadRows(r io.Reader, name string) ([]Row, error) {
	var rows []Row
	torn, err := evalrun.ReadLines(r, name, func(line int, b []byte) error {
		row, err := ParseRow(b)
		if err != nil {
			return fmt.Errorf("%s line %d: %w", name, line, err)
		}
		rows = append(rows, row)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if torn > 0 {
		return nil, fmt.Errorf("%s: last line is cut short (no newline after %d bytes)", name, torn)
	}
	return rows, nil
}

// ReadTaskRows reads the data file of task t (LongBench-E when e) from
// dir, which holds the unpacked data/ folder or is that folder.
func ReadTaskRows(dir string, t Task, e bool) ([]Row, error) {
	path, err := DataFile(dir, t, e)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadRows(f, path)
}

// DataFile finds task t's data file under dir: dir/data/<file> (the layout
// download leaves) or dir/<file>.
func DataFile(dir string, t Task, e bool) (string, error) {
	for _, p := range []string{filepath.Join(dir, "data", t.FileName(e)), filepath.Join(dir, t.FileName(e))} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no data file for %s in %s (looked for data/%s and %s; run 'sdtp longbench download')", t.Name, dir, t.FileName(e), t.FileName(e))
}

// PresentTasks splits tasks into those with a data file under dir (see
// DataFile) and the names of those without.
func PresentTasks(dir string, tasks []Task, e bool) (present []Task, missing []string) {
	for _, t := range tasks {
		if _, err := DataFile(dir, t, e); err != nil {
			missing = append(missing, t.Name)
			continue
		}
		present = append(present, t)
	}
	return present, missing
}
