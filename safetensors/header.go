package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/sdtp/sdtp/internal/filekind"
)

// maxHeaderLen bounds the JSON header, as the reference implementation does.
const maxHeaderLen = 100 << 20

// metadataKey is the reserved header key holding the string-to-string metadata.
const metadataKey = "__metadata__"

// entry is one tensor's header record, validated.
type entry struct {
	dtype      string
	shape      []int
	begin, end int // byte offsets relative to the start of the data section
}

// header is a parsed and validated safetensors header.
type header struct {
	dataStart int // absolute offset of the data section
	entries   map[string]entry
	names     []string // sorted
	metadata  map[string]string
}

// rawEntry mirrors one tensor record of the JSON header; pointers tell
// missing fields apart from zero values.
type rawEntry struct {
	DType       *string  `json:"dtype"`
	Shape       *[]int64 `json:"shape"`
	DataOffsets *[]int64 `json:"data_offsets"`
}

// parseHeader reads and validates the header of a safetensors file whose
// complete contents are b. name prefixes every error.
func parseHeader(name string, b []byte) (*header, error) {
	size := len(b)
	if size < 9 {
		return nil, fmt.Errorf("%s: file is %d bytes, too short for a safetensors header", name, size)
	}
	if b[8] != '{' {
		// The JSON header must open with "{" (the format's rule); without
		// it the first 8 bytes are no header length either, so say what
		// the file is instead of quoting them.
		what := filekind.Describe(b)
		if what == "" {
			what = "has no JSON header after the 8-byte header length"
		}
		return nil, fmt.Errorf("%s: not a safetensors file (it %s)", name, what)
	}
	n := binary.LittleEndian.Uint64(b[:8])
	if n > maxHeaderLen {
		return nil, fmt.Errorf("%s: header length %d exceeds the limit of %d bytes", name, n, maxHeaderLen)
	}
	if n > uint64(size-8) {
		return nil, fmt.Errorf("%s: header length %d beyond file size %d (truncated file?)", name, n, size)
	}
	js := b[8 : 8+int(n)]
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(js, &raw); err != nil {
		return nil, fmt.Errorf("%s: header JSON: %v", name, oneLine(err))
	}
	h := &header{
		dataStart: 8 + int(n),
		entries:   make(map[string]entry, len(raw)),
		metadata:  map[string]string{},
	}
	dataLen := size - h.dataStart
	for key, msg := range raw {
		if key == metadataKey {
			if err := json.Unmarshal(msg, &h.metadata); err != nil {
				return nil, fmt.Errorf("%s: %s must map strings to strings: %v", name, metadataKey, oneLine(err))
			}
			continue
		}
		e, err := parseEntry(msg, dataLen, size)
		if err != nil {
			return nil, fmt.Errorf("%s: tensor %q: %v", name, key, err)
		}
		h.entries[key] = e
		h.names = append(h.names, key)
	}
	sort.Strings(h.names)
	if err := checkOverlaps(name, h); err != nil {
		return nil, err
	}
	return h, nil
}

// parseEntry validates one tensor record against the data section length.
func parseEntry(msg json.RawMessage, dataLen, fileSize int) (entry, error) {
	var r rawEntry
	if err := json.Unmarshal(msg, &r); err != nil {
		return entry{}, fmt.Errorf("bad record: %v", oneLine(err))
	}
	switch {
	case r.DType == nil || *r.DType == "":
		return entry{}, errors.New("missing dtype")
	case r.Shape == nil:
		return entry{}, errors.New("missing shape")
	case r.DataOffsets == nil:
		return entry{}, errors.New("missing data_offsets")
	case len(*r.DataOffsets) != 2:
		return entry{}, fmt.Errorf("data_offsets has %d values, want 2", len(*r.DataOffsets))
	}
	begin, end := (*r.DataOffsets)[0], (*r.DataOffsets)[1]
	if begin < 0 || end < begin {
		return entry{}, fmt.Errorf("bad data offsets [%d,%d)", begin, end)
	}
	if end > int64(dataLen) {
		return entry{}, fmt.Errorf("data offsets [%d,%d) beyond file size %d (data section is %d bytes)", begin, end, fileSize, dataLen)
	}
	e := entry{dtype: *r.DType, begin: int(begin), end: int(end), shape: make([]int, len(*r.Shape))}
	// count is clamped at limit, so it cannot overflow.
	limit := int64(dataLen) + 1
	count, clamped := int64(1), false
	for i, d := range *r.Shape {
		if d < 0 {
			return entry{}, fmt.Errorf("negative dimension %d in shape %v", d, *r.Shape)
		}
		e.shape[i] = int(d)
		switch {
		case d == 0:
			count, clamped = 0, false
		case clamped || count > limit/d:
			count, clamped = limit, true
		default:
			count *= d
		}
	}
	if size, ok := DTypeSize(e.dtype); ok {
		if want := count * int64(size); clamped || want != end-begin {
			need := fmt.Sprintf("%d bytes", want)
			if clamped {
				need = fmt.Sprintf("more than the %d-byte data section", dataLen)
			}
			return entry{}, fmt.Errorf("shape %v of %s needs %s, data offsets [%d,%d) hold %d bytes", *r.Shape, e.dtype, need, begin, end, end-begin)
		}
	}
	return e, nil
}

// checkOverlaps rejects tensors whose non-empty byte ranges intersect.
func checkOverlaps(name string, h *header) error {
	order := make([]string, 0, len(h.names))
	for _, n := range h.names {
		if e := h.entries[n]; e.end > e.begin {
			order = append(order, n)
		}
	}
	sort.SliceStable(order, func(i, j int) bool { return h.entries[order[i]].begin < h.entries[order[j]].begin })
	for i := 1; i < len(order); i++ {
		prev, cur := h.entries[order[i-1]], h.entries[order[i]]
		if cur.begin < prev.end {
			return fmt.Errorf("%s: tensor %q: data offsets [%d,%d) overlap tensor %q at [%d,%d)",
				name, order[i], cur.begin, cur.end, order[i-1], prev.begin, prev.end)
		}
	}
	return nil
}

// oneLine flattens an error message onto one line.
func oneLine(err error) string {
	return string(bytes.ReplaceAll([]byte(err.Error()), []byte("\n"), []byte(" ")))
}
