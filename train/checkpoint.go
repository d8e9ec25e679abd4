package train

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"

	"github.com/sdtp/sdtp/internal/atomicfile"
)

// CheckpointFormat identifies a training checkpoint in its header.
const CheckpointFormat = "sdtp-train-checkpoint/2"

// legacyCheckpointFormat is the format before checkpoints carried a
// digest. Such a checkpoint still resumes, with a warning (Progress.Warning):
// refusing it would throw away the training it holds, and it was no less
// checked before than it is now.
const legacyCheckpointFormat = "sdtp-train-checkpoint/1"

// checkpointMagic starts every checkpoint file.
const checkpointMagic = "SDTPCKPT"

// checkpointMeta is the checkpoint's JSON header.
type checkpointMeta struct {
	Format      string `json:"format"`
	Step        int    `json:"step"`
	TotalSteps  int    `json:"total_steps"`
	Fingerprint string `json:"fingerprint"`
	Hidden      int    `json:"hidden"`
	Width       int    `json:"width"`
	Stages      int    `json:"stages"`
	// Epochs holds the loss means so far, so a resumed run reports the
	// same ones as an uninterrupted run.
	Epochs epochProgress `json:"epochs"`
}

// checkpoint is the state a run resumes from: parameters and optimiser
// moments in float64, and the number of steps done.
type checkpoint struct {
	meta         checkpointMeta
	params       *Params
	adamM, adamV []float64
	// verified is true when the file's digest matched its content (false
	// for a legacy checkpoint, which has none).
	verified bool
}

// save writes the checkpoint atomically (a temporary file in the same
// folder, synced, then renamed). Layout: "SDTPCKPT", the header length as
// a little-endian uint64, the JSON header, then the parameters, Adam's
// first and second moments as little-endian float64 arrays of equal
// length, and last the SHA-256 digest of everything before it, so that a
// checkpoint damaged after it was written is refused rather than resumed
// into a different module.
func (c *checkpoint) save(path string) error {
	b, err := c.body()
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	sum := sha256.Sum256(b)
	if err := atomicfile.WriteFile(path, append(b, sum[:]...)); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// body is the checkpoint's layout up to its digest.
func (c *checkpoint) body() ([]byte, error) {
	js, err := json.Marshal(c.meta)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.WriteString(checkpointMagic)
	binary.Write(&buf, binary.LittleEndian, uint64(len(js)))
	buf.Write(js)
	for _, v := range [][]float64{c.params.Flat, c.adamM, c.adamV} {
		buf.Write(f64Bytes(v))
	}
	return buf.Bytes(), nil
}

// loadCheckpoint reads a checkpoint written by save (or by an sdtp whose
// checkpoints had no digest yet: verified is false then).
func loadCheckpoint(path string) (*checkpoint, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	if len(b) < 16 || string(b[:8]) != checkpointMagic {
		return nil, fmt.Errorf("checkpoint %s: not a training checkpoint", path)
	}
	var c checkpoint
	if n := len(b) - sha256.Size; n >= 16 && sha256.Sum256(b[:n]) == [sha256.Size]byte(b[n:]) {
		b, c.verified = b[:n], true
	}
	// A file whose digest does not match is corrupt, unless its header
	// (read whole) says it is a legacy checkpoint, which has no digest.
	hl := binary.LittleEndian.Uint64(b[8:16])
	if hl > uint64(len(b)-16) {
		if !c.verified {
			return nil, corruptCheckpoint(path)
		}
		return nil, fmt.Errorf("checkpoint %s: header length %d exceeds the file", path, hl)
	}
	if err := json.Unmarshal(b[16:16+hl], &c.meta); err != nil {
		if !c.verified {
			return nil, corruptCheckpoint(path)
		}
		return nil, fmt.Errorf("checkpoint %s: header: %w", path, err)
	}
	m := c.meta
	switch {
	case c.verified && m.Format == CheckpointFormat:
	case !c.verified && m.Format == legacyCheckpointFormat:
	case !c.verified:
		return nil, corruptCheckpoint(path)
	default:
		return nil, fmt.Errorf("checkpoint %s: format %q, want %q", path, m.Format, CheckpointFormat)
	}
	if m.Hidden <= 0 || m.Width <= 0 || m.Stages <= 0 || m.Step < 0 || m.Hidden > 1<<20 || m.Width > 1<<20 || m.Stages > 1<<10 {
		return nil, fmt.Errorf("checkpoint %s: bad sizes in header %+v", path, m)
	}
	n := m.Stages * (m.Width*m.Hidden + 3*m.Width + 2)
	data := b[16+hl:]
	if len(data) != 3*8*n {
		return nil, fmt.Errorf("checkpoint %s: %d data bytes, want %d (3 arrays of %d float64)", path, len(data), 3*8*n, n)
	}
	c.params = NewParams(m.Hidden, m.Width, m.Stages)
	read := func(k int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = math.Float64frombits(binary.LittleEndian.Uint64(data[8*(k*n+i):]))
		}
		return v
	}
	copy(c.params.Flat, read(0))
	c.adamM, c.adamV = read(1), read(2)
	return &c, nil
}

// corruptCheckpoint is the error for a checkpoint whose digest does not
// match its content.
func corruptCheckpoint(path string) error {
	return fmt.Errorf("checkpoint %s is corrupt: its SHA-256 digest does not match its content (the file changed after it was written); delete it, or run without --resume, to start afresh", path)
}

func f64Bytes(v []float64) []byte {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(x))
	}
	return b
}
