package evalrun

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/sdtp/sdtp/internal/atomicfile"
)

// Header is what the runner reads of a predictions line: the row's id
// and, for a row that failed, its error.
type Header struct {
	ID    string
	Error string
}

// writer appends predictions to a file, one whole line per write, synced
// to disk before the next, so a killed run leaves at most one torn last
// line (which openWriter cuts off on resume).
type writer struct {
	f *os.File
}

// openWriter opens path for appending after reading what it already
// holds (each line's header by parse); a torn last line is truncated
// away, and the lines of failed rows are removed so that they are tried
// again. The headers returned are those kept.
func openWriter(path string, parse func([]byte) (Header, error)) (*writer, Contents[Header], error) {
	var c Contents[Header]
	if _, err := os.Stat(path); err == nil {
		if c, err = ReadFile(path, parse); err != nil {
			return nil, c, err
		}
		if c.Torn > 0 {
			if err := os.Truncate(path, c.Size); err != nil {
				return nil, c, fmt.Errorf("cutting the torn last line of %s: %w", path, err)
			}
		}
		if c, err = dropFailed(path, c, parse); err != nil {
			return nil, c, err
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, c, err
	}
	return &writer{f: f}, c, nil
}

// dropFailed rewrites path (atomically) without the lines of c's failed
// rows, when it has any, and returns what the file then holds.
func dropFailed(path string, c Contents[Header], parse func([]byte) (Header, error)) (Contents[Header], error) {
	failed := map[int]bool{}
	for i, h := range c.Rows {
		if h.Error != "" {
			failed[c.Lines[i]] = true
		}
	}
	if len(failed) == 0 {
		return c, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	var out bytes.Buffer
	for i, line := range bytes.SplitAfter(b, []byte("\n")) {
		if !failed[i+1] {
			out.Write(line)
		}
	}
	if err := atomicfile.WriteFile(path, out.Bytes()); err != nil {
		return c, fmt.Errorf("removing the failed rows of %s to retry them: %w", path, err)
	}
	return ReadFile(path, parse)
}

// Append writes record as one JSON line and syncs it.
func (w *writer) Append(id string, record any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(record); err != nil { // one line, newline included
		return fmt.Errorf("encoding prediction %s: %w", id, err)
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
func (w *writer) Close() error { return w.f.Close() }
