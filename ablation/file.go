package ablation

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/sdtp/sdtp/internal/atomicfile"
	"github.com/sdtp/sdtp/train"
)

// Format names the results file layout.
const Format = "sdtp-ablation/1"

// Header is the first line of a results file.
type Header struct {
	Meta     train.Meta `json:"meta"`
	Format   string     `json:"format"`
	Settings Settings   `json:"settings"`
}

// File is a results file: its header and the rows finished so far, one
// JSON line each, appended and synced as each point finishes.
type File struct {
	Header Header
	Rows   []*Row
	path   string
	f      *os.File
}

// Open opens the results file at path for a sweep with header h: a new
// file gets h as its first line; an existing one is resumed when its
// settings equal h's (a torn last line, from a killed run, is cut off), and
// refused otherwise.
func Open(path string, h Header) (*File, error) {
	rf, err := Read(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		line, err := json.Marshal(h)
		if err != nil {
			return nil, err
		}
		if err := atomicfile.WriteFile(path, append(line, '\n')); err != nil {
			return nil, err
		}
		rf = &File{Header: h}
	case err != nil:
		return nil, err
	default:
		have, _ := json.Marshal(rf.Header.Settings)
		want, _ := json.Marshal(h.Settings)
		if !bytes.Equal(have, want) {
			return nil, fmt.Errorf("%s holds a sweep with other settings (%s); this one has %s: use another --out folder", path, have, want)
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, err
	}
	rf.path, rf.f = path, f
	return rf, nil
}

// Read reads a results file; a torn last line (no newline, from a killed
// run) is cut off the file.
func Read(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if i := bytes.LastIndexByte(data, '\n'); i < len(data)-1 {
		data = data[:i+1]
		if err := os.Truncate(path, int64(len(data))); err != nil {
			return nil, fmt.Errorf("cutting the torn last line of %s: %w", path, err)
		}
	}
	rf := &File{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	line := 0
	for sc.Scan() {
		line++
		if line == 1 {
			if err := json.Unmarshal(sc.Bytes(), &rf.Header); err != nil || rf.Header.Format != Format {
				return nil, fmt.Errorf("%s:1: not an ablation results file (format %q, want %q)", path, rf.Header.Format, Format)
			}
			continue
		}
		var r Row
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		rf.Rows = append(rf.Rows, &r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if line == 0 {
		return nil, fmt.Errorf("%s is empty", path)
	}
	return rf, nil
}

// Done returns the finished rows by name.
func (rf *File) Done() map[string]*Row {
	out := map[string]*Row{}
	for _, r := range rf.Rows {
		out[r.Name] = r
	}
	return out
}

// Append writes r as one line and syncs it.
func (rf *File) Append(r *Row) error {
	line, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encoding row %s: %w", r.Name, err)
	}
	if _, err := rf.f.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("writing %s: %w", rf.path, err)
	}
	if err := rf.f.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", rf.path, err)
	}
	rf.Rows = append(rf.Rows, r)
	return nil
}

// Close closes the file.
func (rf *File) Close() error {
	if rf.f == nil {
		return nil
	}
	return rf.f.Close()
}
