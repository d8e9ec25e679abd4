package evalrun

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/sdtp/sdtp/internal/atomicfile"
	"github.com/sdtp/sdtp/internal/runmeta"
)

// MetaFile is the name of a run folder's meta block.
const MetaFile = "meta.json"

// RunMeta describes a run; it is written to meta.json in the output folder
// when the run starts. A resumed run must have the same Settings; Info is
// recorded but not compared.
type RunMeta struct {
	runmeta.Meta
	Settings map[string]string `json:"settings"`       // model, backend, pruning schedule, template, ...
	Info     map[string]string `json:"info,omitempty"` // device name, ...
}

// ReadRunMeta reads the meta.json of a run folder; an error wrapping
// os.ErrNotExist means the folder has none (official prediction files).
func ReadRunMeta(dir string) (RunMeta, error) {
	path := filepath.Join(dir, MetaFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return RunMeta{}, err
	}
	var m RunMeta
	if err := json.Unmarshal(b, &m); err != nil {
		return RunMeta{}, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Model names the model the run used: its name as the engine reported it
// (the folder or file name, or synthetic:NAME), else the --model given.
func (m RunMeta) Model() string {
	if n := m.Info["model_name"]; n != "" {
		return n
	}
	return m.Settings["model"]
}

// UnmarshalJSON reads meta.json, old field spellings included.
func (m *RunMeta) UnmarshalJSON(data []byte) error {
	type plain RunMeta
	return runmeta.Unmarshal(data, (*plain)(m), &m.Meta)
}

// hasPredictions reports whether any prediction file in dir holds a row.
func hasPredictions(dir string) bool {
	files, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil && fi.Size() > 0 {
			return true
		}
	}
	return false
}

// writeOrCheckMeta writes meta.json (atomically) for a new run, or checks
// that an existing one has the same settings. A folder holding no
// predictions yet (its run failed before the first row) is not bound to
// its old settings: its meta.json is replaced.
func writeOrCheckMeta(path string, m RunMeta, bound bool) error {
	b, err := os.ReadFile(path)
	if err == nil && bound {
		var old RunMeta
		if err := json.Unmarshal(b, &old); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		var diff []string
		keys := map[string]bool{}
		for k := range old.Settings {
			keys[k] = true
		}
		for k := range m.Settings {
			keys[k] = true
		}
		for k := range keys {
			if old.Settings[k] != m.Settings[k] {
				diff = append(diff, fmt.Sprintf("%s: %q before, %q now", k, old.Settings[k], m.Settings[k]))
			}
		}
		if len(diff) > 0 {
			sort.Strings(diff)
			return fmt.Errorf("%s belongs to a run with other settings (%s); use another --out", path, strings.Join(diff, "; "))
		}
		return nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, buf.Bytes())
}

// RunNames names runs by their folder names, or by the full path where
// two share a name, for reports.
func RunNames(dirs []string) []string {
	seen := map[string]int{}
	for _, d := range dirs {
		seen[filepath.Base(filepath.Clean(d))]++
	}
	var out []string
	for _, d := range dirs {
		name := filepath.Base(filepath.Clean(d))
		if seen[name] > 1 {
			name = filepath.Clean(d)
		}
		out = append(out, name)
	}
	return out
}
