package train

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sdtp/sdtp/prune"
)

func TestMassShare(t *testing.T) {
	tests := []struct {
		v     []float64
		level float64
		want  float64
	}{
		{[]float64{1, 1, 1, 1}, 0.5, 0.5},
		{[]float64{1, 4, 1, 1, 1}, 0.5, 0.2},   // 4 of 8
		{[]float64{1, 4, 1, 1, 1}, 0.8, 0.8},   // 4+1+1 = 6 of 8 is short; 7 of 8 needs four tokens
		{[]float64{-1, 4, 1, -1, 1}, 0.8, 0.8}, // signs do not matter
		{[]float64{3, 0, 0}, 1, 1.0 / 3},
		{[]float64{0.1, 0.2, 0.7}, 0.7, 1.0 / 3}, // exactly the level
		{[]float64{0, 0}, 0.5, math.NaN()},
	}
	for _, tc := range tests {
		got := MassShare(tc.v, tc.level)
		if !(got == tc.want || math.IsNaN(got) && math.IsNaN(tc.want)) {
			t.Errorf("MassShare(%v, %v) = %v, want %v", tc.v, tc.level, got, tc.want)
		}
	}
}

// tinySaliencyFile writes a saliency file of the tiny model's texts.
func tinySaliencyFile(t *testing.T, texts [][]int, cont int) string {
	t.Helper()
	m := Host(tinyModel(t))
	var buf bytes.Buffer
	h, _ := json.Marshal(SaliencyHeader{Meta: Meta{Model: "tiny"}, Format: SaliencyFormat, Layers: m.Config().Layers, Hidden: m.Config().Hidden, Texts: len(texts), Continuation: cont})
	buf.Write(append(h, '\n'))
	lines := make([]int, len(texts))
	for i := range lines {
		lines[i] = i + 1
	}
	if err := WriteSaliency(context.Background(), &buf, m, texts, lines, cont, 2, nil); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "s.jsonl")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSummarise reads a saliency file and checks the statistics against
// MassShare on each text: means, ranges, the mass curves' shape.
func TestSummarise(t *testing.T) {
	texts := tinyTexts(5, 20, 4)
	h, recs, err := ReadSaliency(tinySaliencyFile(t, texts, 4))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 5 || h.Continuation != 4 {
		t.Fatalf("%d records, header %+v", len(recs), h)
	}
	s, err := Summarise(h, recs, DefaultLevels, 2, 4)
	if err != nil {
		t.Fatal(err)
	}
	if s.Example.Index != 2 || s.Example.Prompt != 16 || !slices.Equal(s.Example.IDs, texts[2]) {
		t.Errorf("example %+v", s.Example)
	}
	for b := range h.Layers {
		for k, l := range s.Levels {
			var sum float64
			lo, hi := math.Inf(1), math.Inf(-1)
			for _, r := range recs {
				v := MassShare(r.Saliency[b][:16], l) // the prompt
				sum += v
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
			if got := s.TokenShare[b][k]; math.Abs(got-sum/5) > 1e-12 || s.TokenShareMin[b][k] != lo || s.TokenShareMax[b][k] != hi {
				t.Errorf("block %d level %v: %v (%v–%v), want %v (%v–%v)", b, l, got, s.TokenShareMin[b][k], s.TokenShareMax[b][k], sum/5, lo, hi)
			}
			if k > 0 && s.TokenShare[b][k] < s.TokenShare[b][k-1] {
				t.Errorf("block %d: more mass held by fewer tokens: %v", b, s.TokenShare[b])
			}
		}
		c := s.Curve[b]
		if math.Abs(c[len(c)-1]-1) > 1e-12 || !slices.IsSorted(c) || c[0] <= 0 {
			t.Errorf("block %d: mass curve %v", b, c)
		}
	}
	var table bytes.Buffer
	if err := s.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(table.String(), "\n"); n != 4+h.Layers || !strings.Contains(table.String(), "prompt tokens holding 80% of |π̂|") {
		t.Errorf("table:\n%s", table.String())
	}
	for _, bad := range []struct {
		levels        []float64
		example, cont int
		want          string
	}{
		{DefaultLevels, 5, 0, "texts 0..4"},
		{[]float64{0}, 0, 0, "must be in (0, 1]"},
		{DefaultLevels, 0, 20, "does not leave a prompt in text 0"},
	} {
		if _, err := Summarise(h, recs, bad.levels, bad.example, bad.cont); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%+v: err %v", bad, err)
		}
	}
}

// TestOracleKeptMatchesPrunedPass: the saliency oracle's kept tokens,
// chosen from the file alone, are those of the pruned pass scoring by the
// same importance; each stage keeps the schedule's count, protected tokens
// included, within the previous stage's tokens.
func TestOracleKeptMatchesPrunedPass(t *testing.T) {
	m := Host(tinyModel(t))
	ids := tinyTexts(1, 40, 9)[0]
	sal, _, err := Saliency(tinyModel(t), ids, 6)
	if err != nil {
		t.Fatal(err)
	}
	s := prune.Schedule{Locations: []int{1, 2}, Ratio: 0.6}
	prompt := len(ids) - 6
	got, err := OracleKept(sal, prompt, s, TargetAbs)
	if err != nil {
		t.Fatal(err)
	}
	imp := make([][]float64, len(s.Locations))
	for st, l := range s.Locations {
		for _, v := range sal[l] {
			imp[st] = append(imp[st], TargetAbs.Importance(v))
		}
	}
	want, err := KeptTokens(context.Background(), m, ids, prompt, s, importanceScorer(imp))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || len(want) != 2 {
		t.Fatalf("stages: oracle %d, pruned pass %d", len(got), len(want))
	}
	prev := positions(prompt)
	for st := range got {
		if !slices.Equal(got[st], want[st]) {
			t.Errorf("stage %d: oracle kept %v, pruned pass %v", st+1, got[st], want[st])
		}
		if len(got[st]) != s.Keep(prompt, st+1) {
			t.Errorf("stage %d keeps %d, schedule says %d", st+1, len(got[st]), s.Keep(prompt, st+1))
		}
		for _, p := range got[st] {
			if !slices.Contains(prev, p) {
				t.Errorf("stage %d keeps %d, dropped before", st+1, p)
			}
		}
		for p := range prompt {
			if prune.IsProtected(p, prompt) && !slices.Contains(got[st], int32(p)) {
				t.Errorf("stage %d dropped protected token %d", st+1, p)
			}
		}
		prev = got[st]
	}
}

func TestReadSaliencyErrors(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"not-saliency": `{"format":"other"}` + "\n",
		"short-block":  `{"format":"sdtp-saliency/1","layers":1}` + "\n" + `{"ids":[1,2],"saliency":[[0.5]]}` + "\n",
		"few-blocks":   `{"format":"sdtp-saliency/1","layers":2}` + "\n" + `{"ids":[1,2],"saliency":[[0.5,1]]}` + "\n",
		"no-texts":     `{"format":"sdtp-saliency/1","layers":2}` + "\n",
	} {
		path := filepath.Join(dir, name)
		os.WriteFile(path, []byte(body), 0o644)
		if _, _, err := ReadSaliency(path); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: err %v", name, err)
		}
	}
}
