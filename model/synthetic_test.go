package model_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sdtp/sdtp/generate"
	"github.com/sdtp/sdtp/internal/testmodel"
	"github.com/sdtp/sdtp/model"
)

// TestSyntheticPositions: NAME@POSITIONS is the shape with that many
// positions and nothing else changed; bad suffixes are refused.
func TestSyntheticPositions(t *testing.T) {
	base := testmodel.Config(t, "mistral-7b")
	for _, tc := range []struct {
		spec string
		pos  int
		err  string
	}{
		{spec: "synthetic:mistral-7b@128K", pos: 131072},
		{spec: "mistral-7b@131200", pos: 131200},
		{spec: "synthetic:mistral-7b@4k", pos: 4096},
		{spec: "synthetic:mistral-7b@", err: "positions after @"},
		{spec: "synthetic:mistral-7b@0", err: "not a position count"},
		{spec: "synthetic:mistral-7b@-5", err: "not a position count"},
		{spec: "synthetic:mistral-7b@2000000K", err: "at most"},
		{spec: "synthetic:mistral-7b@1M", err: "not a position count"},
		{spec: "synthetic:nope@128K", err: "unknown synthetic model"},
	} {
		c, err := model.SyntheticConfig(tc.spec)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want one containing %q", tc.spec, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.spec, err)
		}
		if c.MaxPos != tc.pos || !strings.HasSuffix(c.Name, tc.spec) {
			t.Errorf("%s: positions %d name %q, want %d", tc.spec, c.MaxPos, c.Name, tc.pos)
		}
		c.MaxPos, c.Name = base.MaxPos, base.Name
		if c.Hidden != base.Hidden || c.RopeTheta != base.RopeTheta || c.Layers != base.Layers || c.SlidingWindow != base.SlidingWindow {
			t.Errorf("%s: more than the positions changed: %+v", tc.spec, c)
		}
	}
	src, err := model.Locate("synthetic:mistral-7b@64K")
	if err != nil || src.Config.MaxPos != 65536 || !src.Synthetic() {
		t.Errorf("Locate with positions: %+v, %v", src, err)
	}
}

func TestWithPositions(t *testing.T) {
	for _, tc := range []struct {
		spec string
		n    int
		want string
	}{
		{"synthetic:qwen2-7b", 65536 + 128, "synthetic:qwen2-7b"},
		{"synthetic:qwen2-7b", 131072 + 128, "synthetic:qwen2-7b@129K"},
		{"synthetic:mistral-7b", 32768, "synthetic:mistral-7b"},
		{"synthetic:mistral-7b", 32769, "synthetic:mistral-7b@33K"},
		{"synthetic:mistral-7b@40K", 131072, "synthetic:mistral-7b@40K"}, // named positions stand
		{"./Qwen2-7B", 1 << 20, "./Qwen2-7B"},
	} {
		if got := model.WithPositions(tc.spec, tc.n); got != tc.want {
			t.Errorf("WithPositions(%q, %d) = %q, want %q", tc.spec, tc.n, got, tc.want)
		}
	}
}

// TestSyntheticPositionsRun: a prompt past a shape's published positions
// runs on the extended shape and is refused on the published one.
func TestSyntheticPositionsRun(t *testing.T) {
	b := testmodel.CPU(t)
	prompt := make([]int, 4100)
	for i := range prompt {
		prompt[i] = 3 + i%500
	}
	for spec, ok := range map[string]bool{"synthetic:tiny": false, "synthetic:tiny@5K": true} {
		m := testmodel.Open(t, b, spec)
		_, err := generate.Run(context.Background(), m, nil, generate.Request{Prompt: prompt, MaxTokens: 2})
		if ok != (err == nil) || (!ok && !errors.Is(err, model.ErrTooLong)) {
			t.Errorf("%s: %d tokens: %v", spec, len(prompt), err)
		}
	}
}
