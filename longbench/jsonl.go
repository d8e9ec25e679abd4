package longbench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// maxLineBytes bounds one JSONL line (the longest LongBench rows are a few
// MB).
const maxLineBytes = 256 << 20

// readLines calls fn for every complete line of r (without its newline),
// numbering lines from 1. A last line without a trailing newline is a torn
// write: it is not passed to fn, and readLines returns its length as torn
// so the caller can decide (ignore, truncate, or fail). Blank lines are
// skipped.
func readLines(r io.Reader, name string, fn func(line int, b []byte) error) (torn int, err error) {
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
