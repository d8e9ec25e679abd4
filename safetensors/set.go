package safetensors

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// File names of a Hugging Face model folder.
const (
	SingleFile = "model.safetensors"
	IndexFile  = "model.safetensors.index.json"
)

// Set presents the tensors of a Hugging Face model folder, one file or
// several shards, as one collection. Its read methods are safe for concurrent
// use; Close must not race with them.
type Set struct {
	source string           // the file whose name errors carry: the single file or the index
	owner  map[string]*File // tensor name -> file holding it
	files  []*File
	names  []string
}

// OpenModel opens the weights of the Hugging Face model folder dir: either
// model.safetensors or the shards listed by model.safetensors.index.json
// (its weight_map). Every shard is opened and validated, and every tensor the
// index maps must be present in its shard.
func OpenModel(dir string) (*Set, error) {
	index := filepath.Join(dir, IndexFile)
	if _, err := os.Stat(index); err == nil {
		return openSharded(dir, index)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	single := filepath.Join(dir, SingleFile)
	if _, err := os.Stat(single); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: no %s or %s in the folder", dir, SingleFile, IndexFile)
		}
		return nil, err
	}
	f, err := Open(single)
	if err != nil {
		return nil, err
	}
	s := &Set{source: single, owner: make(map[string]*File), files: []*File{f}, names: f.Names()}
	for _, n := range s.names {
		s.owner[n] = f
	}
	return s, nil
}

// indexJSON is the part of model.safetensors.index.json this package reads.
type indexJSON struct {
	WeightMap map[string]string `json:"weight_map"`
}

// openSharded opens every shard named by the index file and checks the map.
func openSharded(dir, index string) (*Set, error) {
	b, err := os.ReadFile(index)
	if err != nil {
		return nil, err
	}
	var ix indexJSON
	if err := json.Unmarshal(b, &ix); err != nil {
		return nil, fmt.Errorf("%s: %v", index, oneLine(err))
	}
	if len(ix.WeightMap) == 0 {
		return nil, fmt.Errorf("%s: weight_map is missing or empty", index)
	}
	s := &Set{source: index, owner: make(map[string]*File, len(ix.WeightMap))}
	shards := map[string]*File{}
	for _, name := range sortedKeys(ix.WeightMap) {
		shard := ix.WeightMap[name]
		if shard == "" || shard == "." || shard == ".." || strings.ContainsAny(shard, `/\`) {
			s.Close()
			return nil, fmt.Errorf("%s: tensor %q: shard %q is not a file name in the folder", index, name, shard)
		}
		f, ok := shards[shard]
		if !ok {
			f, err = Open(filepath.Join(dir, shard))
			if err != nil {
				s.Close()
				return nil, fmt.Errorf("%s: tensor %q: %w", index, name, err)
			}
			shards[shard] = f
			s.files = append(s.files, f)
		}
		if !f.Has(name) {
			s.Close()
			return nil, fmt.Errorf("%s: tensor %q is mapped to %s, which does not contain it", index, name, shard)
		}
		s.owner[name] = f
		s.names = append(s.names, name)
	}
	return s, nil
}

// sortedKeys returns the keys of m in sorted order.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Names returns every tensor name in sorted order.
func (s *Set) Names() []string { return append([]string(nil), s.names...) }

// Has reports whether the set holds a tensor called name.
func (s *Set) Has(name string) bool {
	_, ok := s.owner[name]
	return ok
}

// Tensor returns the tensor called name from whichever file holds it.
func (s *Set) Tensor(name string) (Tensor, error) {
	f, ok := s.owner[name]
	if !ok {
		if filepath.Base(s.source) == IndexFile {
			return Tensor{}, fmt.Errorf("%s: tensor %q not in weight_map", s.source, name)
		}
		return Tensor{}, fmt.Errorf("%s: tensor %q not found", s.source, name)
	}
	return f.Tensor(name)
}

// Files returns the paths of the open files, in the order they were opened.
func (s *Set) Files() []string {
	out := make([]string, len(s.files))
	for i, f := range s.files {
		out[i] = f.Path()
	}
	return out
}

// Close unmaps every file of the set.
func (s *Set) Close() error {
	var errs []error
	for _, f := range s.files {
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}
