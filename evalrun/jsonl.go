package evalrun

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// maxLineBytes bounds one JSONL line (the longest LongBench rows are a few
// MB).
const maxLineBytes = 256 << 20

// ReadLines calls fn for every complete line of r (without its newline),
// numbering lines from 1. A last line without a trailing newline is a torn
// write: it is not passed to fn, and ReadLines returns its length as torn
// so the caller can decide (ignore, truncate, or fail). Blank lines are
// skipped. Errors name the stream (name) and the line.
func ReadLines(r io.Reader, name string, fn func(line int, b []byte) error) (torn int, err error) {
	br := bufio.NewReaderSize(r, 1<<20)
	var buf []byte
	for line := 1; ; line++ {
		buf = buf[:0]
		for {
			chunk, err := br.ReadSlice('\n')
			buf = append(buf, chunk...)
			if len(buf) > maxLineBytes {
				return 0, fmt.Errorf("%s line %d: longer than %d bytes", name, line, maxLineBytes)
			}
			if errors.Is(err, bufio.ErrBufferFull) {
				continue
			}
			if errors.Is(err, io.EOF) {
				return len(buf), nil
			}
			if err != nil {
				return 0, fmt.Errorf("reading %s: %w", name, err)
			}
			break
		}
		b := bytes.TrimRight(buf, "\r\n")
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		if err := fn(line, b); err != nil {
			return 0, err
		}
	}
}

// Contents is what a predictions file holds.
type Contents[T any] struct {
	Rows []T
	// Lines holds the line number of each row in the file.
	Lines []int
	// Torn is the length of a last line cut short by a killed writer (no
	// trailing newline); those bytes are not in Rows.
	Torn int
	// Size is the byte length of the complete lines.
	Size int64
}

// Read reads a JSONL stream of rows, each decoded by parse. Errors name
// the stream and line.
func Read[T any](r io.Reader, name string, parse func([]byte) (T, error)) (Contents[T], error) {
	var c Contents[T]
	torn, err := ReadLines(&countingReader{r: r, n: &c.Size}, name, func(line int, b []byte) error {
		v, err := parse(b)
		if err != nil {
			return fmt.Errorf("%s line %d: %w", name, line, err)
		}
		c.Rows = append(c.Rows, v)
		c.Lines = append(c.Lines, line)
		return nil
	})
	if err != nil {
		return Contents[T]{}, err
	}
	c.Torn = torn
	c.Size -= int64(torn)
	return c, nil
}

// ReadFile reads a JSONL file of rows from disk.
func ReadFile[T any](path string, parse func([]byte) (T, error)) (Contents[T], error) {
	f, err := os.Open(path)
	if err != nil {
		return Contents[T]{}, err
	}
	defer f.Close()
	return Read(f, path, parse)
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
