package shard

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// SettingKey is the key of a shard's "I/N" in its meta file's settings.
const SettingKey = "shard"

// Set is the folders of one sharded run, checked to belong together:
// shards 0 to Count-1, one folder each, made with the same settings.
type Set struct {
	// Dirs holds the folders in shard order.
	Dirs  []string
	Count int
	// Settings are the shards' common settings, the shard's own left out.
	Settings map[string]string
	metaFile string
	meta     map[string]json.RawMessage // shard 0's meta file
}

// Open reads the meta file (metaFile in each folder: a JSON object whose
// "settings" maps names to strings) of every folder and checks that they
// are the shards 0..N-1 of one run: each has a shard setting "I/N" with
// the same N, every index appears once, and every other setting is equal.
func Open(dirs []string, metaFile string) (*Set, error) {
	if len(dirs) == 0 {
		return nil, errors.New("no shard folders")
	}
	type one struct {
		dir      string
		spec     Spec
		settings map[string]string
		meta     map[string]json.RawMessage
	}
	var all []one
	for _, d := range dirs {
		path := filepath.Join(d, metaFile)
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("shard folder %s: %w", d, err)
		}
		var meta map[string]json.RawMessage
		var head struct {
			Settings map[string]string `json:"settings"`
		}
		if err := json.Unmarshal(b, &meta); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if err := json.Unmarshal(b, &head); err != nil {
			return nil, fmt.Errorf("%s: settings: %w", path, err)
		}
		spec, err := Parse(head.Settings[SettingKey])
		if err != nil || !spec.On() {
			return nil, fmt.Errorf("%s: not a shard of a run (settings.%s is %q; runs made with --shard I/N have it)", path, SettingKey, head.Settings[SettingKey])
		}
		all = append(all, one{d, spec, head.Settings, meta})
	}
	n := all[0].spec.Count
	byIndex := make([]string, n)
	var first map[string]json.RawMessage // shard 0's meta file
	for _, s := range all {
		if s.spec.Count != n {
			return nil, fmt.Errorf("%s is shard %s but %s is shard %s: shards of different splits", s.dir, s.spec, all[0].dir, all[0].spec)
		}
		if prev := byIndex[s.spec.Index]; prev != "" {
			return nil, fmt.Errorf("%s and %s are both shard %s", prev, s.dir, s.spec)
		}
		byIndex[s.spec.Index] = s.dir
		if s.spec.Index == 0 {
			first = s.meta
		}
		if diff := settingsDiff(all[0].settings, s.settings); diff != "" {
			return nil, fmt.Errorf("%s and %s were run with other settings (%s): they are not shards of one run", all[0].dir, s.dir, diff)
		}
	}
	var missing []string
	for i, d := range byIndex {
		if d == "" {
			missing = append(missing, fmt.Sprintf("%d/%d", i, n))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("shards %s are missing (have %d of %d folders)", strings.Join(missing, ", "), len(all), n)
	}
	settings := map[string]string{}
	for k, v := range all[0].settings {
		if k != SettingKey {
			settings[k] = v
		}
	}
	return &Set{Dirs: byIndex, Count: n, Settings: settings, metaFile: metaFile, meta: first}, nil
}

// settingsDiff describes the keys, the shard's own aside, on which a and b
// differ ("" when none).
func settingsDiff(a, b map[string]string) string {
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	var diff []string
	for k := range keys {
		if k != SettingKey && a[k] != b[k] {
			diff = append(diff, fmt.Sprintf("%s: %q and %q", k, a[k], b[k]))
		}
	}
	sort.Strings(diff)
	return strings.Join(diff, "; ")
}

// Files lists the names of the prediction files (*.jsonl) found in any
// shard folder, sorted.
func (s *Set) Files() ([]string, error) {
	seen := map[string]bool{}
	for _, d := range s.Dirs {
		m, err := filepath.Glob(filepath.Join(d, "*.jsonl"))
		if err != nil {
			return nil, err
		}
		for _, f := range m {
			seen[filepath.Base(f)] = true
		}
	}
	var out []string
	for f := range seen {
		out = append(out, f)
	}
	sort.Strings(out)
	return out, nil
}

// Task is one task's predictions file as Merge expects it.
type Task struct {
	// File is the file's name in the run folders.
	File string
	// IDs are the ids of the task's rows the run split, in the order the
	// merged file lists them (the data's).
	IDs []string
	// Parse reads a line's row id, checking the line as the suite does.
	Parse func(line []byte) (id string, err error)
}

// Stats count what Merge wrote.
type Stats struct {
	Tasks, Rows int
}

// Merge writes one run folder, out, holding the shards' rows: each
// task's file with every row of IDs exactly once, in data order, and the
// meta file of shard 0 without the shard setting (its info's
// "merged_from" naming the shard folders). It refuses a row missing from every shard, a
// row found twice, a row of another task or in another shard than its
// own, and a file cut short by a shard still running or killed. out must
// not exist; it appears whole or not at all.
func (s *Set) Merge(out string, tasks []Task) (Stats, error) {
	var st Stats
	if _, err := os.Stat(out); err == nil {
		return st, fmt.Errorf("%s exists; merge into a new folder", out)
	}
	tmp := out + ".merging"
	if err := os.RemoveAll(tmp); err != nil {
		return st, err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return st, err
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	for _, t := range tasks {
		data, err := s.mergeTask(t)
		if err != nil {
			return st, err
		}
		if err := os.WriteFile(filepath.Join(tmp, t.File), data, 0o644); err != nil {
			return st, err
		}
		st.Tasks++
		st.Rows += len(t.IDs)
	}
	meta, err := s.mergedMeta()
	if err != nil {
		return st, err
	}
	if err := os.WriteFile(filepath.Join(tmp, s.metaFile), meta, 0o644); err != nil {
		return st, err
	}
	if err := os.Rename(tmp, out); err != nil {
		return st, err
	}
	ok = true
	return st, nil
}

// mergeTask returns the merged file of task t.
func (s *Set) mergeTask(t Task) ([]byte, error) {
	index := make(map[string]int, len(t.IDs))
	for i, id := range t.IDs {
		index[id] = i
	}
	lines := make([][]byte, len(t.IDs))
	where := make([]string, len(t.IDs)) // "file line N", for duplicates
	for k, d := range s.Dirs {
		path := filepath.Join(d, t.File)
		b, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if len(b) > 0 && b[len(b)-1] != '\n' {
			return nil, fmt.Errorf("%s ends in a line cut short: shard %d/%d is still running or was stopped; run it again to finish it", path, k, s.Count)
		}
		for n, line := range bytes.SplitAfter(b, []byte("\n")) {
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			id, err := t.Parse(bytes.TrimRight(line, "\n"))
			if err != nil {
				return nil, fmt.Errorf("%s line %d: %w", path, n+1, err)
			}
			i, known := index[id]
			at := fmt.Sprintf("%s line %d", path, n+1)
			switch {
			case !known:
				return nil, fmt.Errorf("%s: row %s is not a row of this task's data as the run split it", at, id)
			case lines[i] != nil:
				return nil, fmt.Errorf("row %s is twice: %s and %s", id, where[i], at)
			case Of(id, s.Count) != k:
				return nil, fmt.Errorf("%s: row %s belongs to shard %d/%d, not %d/%d", at, id, Of(id, s.Count), s.Count, k, s.Count)
			}
			lines[i], where[i] = line, at
		}
	}
	var missing []string
	perShard := map[int]int{}
	for i, l := range lines {
		if l == nil {
			missing = append(missing, t.IDs[i])
			perShard[Of(t.IDs[i], s.Count)]++
		}
	}
	if len(missing) > 0 {
		var sh []string
		for k := range s.Count {
			if perShard[k] > 0 {
				sh = append(sh, fmt.Sprintf("%d in shard %d/%d (%s)", perShard[k], k, s.Count, s.Dirs[k]))
			}
		}
		return nil, fmt.Errorf("%s: %d of %d rows are missing: %s; first %s (run those shards again to finish them)", t.File, len(missing), len(t.IDs), strings.Join(sh, ", "), strings.Join(missing[:min(3, len(missing))], ", "))
	}
	return bytes.Join(lines, nil), nil
}

// mergedMeta is shard 0's meta file without the shard setting, naming
// the shard folders.
func (s *Set) mergedMeta() ([]byte, error) {
	meta := map[string]json.RawMessage{}
	for k, v := range s.meta {
		meta[k] = v
	}
	settings, err := json.Marshal(s.Settings)
	if err != nil {
		return nil, err
	}
	meta["settings"] = settings
	info := map[string]string{}
	if raw, ok := meta["info"]; ok {
		if err := json.Unmarshal(raw, &info); err != nil {
			return nil, fmt.Errorf("%s: info: %w", filepath.Join(s.Dirs[0], s.metaFile), err)
		}
	}
	info["merged_from"] = strings.Join(s.Dirs, ", ")
	if meta["info"], err = json.Marshal(info); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
