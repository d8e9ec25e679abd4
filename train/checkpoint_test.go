package train

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testCheckpoint is a small checkpoint with distinct, non-trivial values.
func testCheckpoint() *checkpoint {
	p := NewParams(6, 3, 2)
	rng := rand.New(rand.NewPCG(1, 2))
	m, v := make([]float64, len(p.Flat)), make([]float64, len(p.Flat))
	for i := range p.Flat {
		p.Flat[i], m[i], v[i] = rng.NormFloat64(), rng.NormFloat64()*1e-3, rng.Float64()*1e-6
	}
	return &checkpoint{meta: checkpointMeta{Format: CheckpointFormat, Step: 12, TotalSteps: 40, Fingerprint: "abc", Hidden: 6, Width: 3, Stages: 2}, params: p, adamM: m, adamV: v}
}

// writeLegacy writes c in the digest-less layout of format
// sdtp-train-checkpoint/1, as sdtp wrote it before checkpoints had digests.
func writeLegacy(t *testing.T, path string, c *checkpoint) {
	t.Helper()
	c.meta.Format = legacyCheckpointFormat
	b, err := c.body()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCheckpointDigest: a checkpoint reloads exactly, and one changed
// anywhere after it was written (a flipped exponent bit of a parameter, a
// digit of its header, a byte of its digest, a lost or added byte) is
// refused with an error naming the file.
func TestCheckpointDigest(t *testing.T) {
	ck := testCheckpoint()
	path := filepath.Join(t.TempDir(), "ck")
	if err := ck.save(path); err != nil {
		t.Fatal(err)
	}
	got, err := loadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	if !got.verified || got.meta.Step != 12 {
		t.Fatalf("reloaded checkpoint: verified %v, meta %+v", got.verified, got.meta)
	}
	for i := range ck.params.Flat {
		if got.params.Flat[i] != ck.params.Flat[i] || got.adamM[i] != ck.adamM[i] || got.adamV[i] != ck.adamV[i] {
			t.Fatalf("value %d changed in the round trip", i)
		}
	}
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	hl := int(binary.LittleEndian.Uint64(good[8:16]))
	params := 16 + hl // offset of the first parameter
	step := bytes.Index(good, []byte(`"step":12`)) + len(`"step":1`)
	for _, tc := range []struct {
		name   string
		change func([]byte) []byte
	}{
		{"exponent bit of parameter 0", func(b []byte) []byte { b[params+7] ^= 0x40; return b }},
		{"lowest mantissa bit of the last Adam moment", func(b []byte) []byte { b[len(b)-32-8] ^= 1; return b }},
		{"step 12 read as 13 in the header", func(b []byte) []byte { b[step] ^= 0x01; return b }},
		{"a bit of the digest", func(b []byte) []byte { b[len(b)-1] ^= 0x80; return b }},
		{"last byte lost", func(b []byte) []byte { return b[:len(b)-1] }},
		{"digest lost", func(b []byte) []byte { return b[:len(b)-32] }},
		{"a byte added", func(b []byte) []byte { return append(b, 0) }},
	} {
		bad := filepath.Join(t.TempDir(), "ck")
		if err := os.WriteFile(bad, tc.change(bytes.Clone(good)), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := loadCheckpoint(bad)
		if err == nil {
			t.Errorf("%s: loaded (step %d, parameter 0 = %v)", tc.name, c.meta.Step, c.params.Flat[0])
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, bad) || !strings.Contains(msg, "corrupt") {
			t.Errorf("%s: error %q, want one naming %s and saying it is corrupt", tc.name, msg, bad)
		}
	}
	if math.Float64frombits(binary.LittleEndian.Uint64(good[params:])) != ck.params.Flat[0] {
		t.Fatal("the test's parameter offset is wrong")
	}
}

// TestLegacyCheckpointResumesWithWarning: a checkpoint written before
// checkpoints had digests resumes (its sizes are still checked), and the
// run is told that its integrity could not be checked.
func TestLegacyCheckpointResumesWithWarning(t *testing.T) {
	full := tinyRun(t, t.TempDir())
	want, err := full.Train(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	r := interruptedRun(t, dir, 6)
	ck, err := loadCheckpoint(r.Checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	writeLegacy(t, r.Checkpoint, ck)

	r = tinyRun(t, dir)
	r.Resume = true
	var note string
	r.Progress = func(p Progress) {
		if p.Phase == "resume" {
			note = p.Warning
		}
	}
	got, err := r.Train(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(note, r.Checkpoint) || !strings.Contains(note, "no digest") {
		t.Errorf("resume warning %q, want one naming the file and saying it has no digest", note)
	}
	sameParams(t, got, want)
	// The run rewrote its checkpoint in the current format.
	if ck, err := loadCheckpoint(r.Checkpoint); err != nil || !ck.verified {
		t.Errorf("checkpoint after the resumed run: %v", err)
	}
}
