package session

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/sdtp/sdtp/backend/cpu"
	"github.com/sdtp/sdtp/internal/testdata"
	"github.com/sdtp/sdtp/prune"
)

func openTiny(t *testing.T) *Session {
	t.Helper()
	s, err := Open(Options{Model: "synthetic:tiny", Backend: "cpu", Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func TestOpenErrors(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{Model: "synthetic:tiny", Backend: "tpu"}, `--backend "tpu"`},
		{Options{Backend: "cpu"}, "--model is required"},
		{Options{Model: "synthetic:huge", Backend: "cpu"}, "--model: unknown synthetic model"},
		{Options{Model: "synthetic:tiny", Backend: "cpu", Tokenizer: filepath.Join(t.TempDir(), "none.json")}, "--tokenizer:"},
	} {
		s, err := Open(tc.o)
		if err == nil {
			s.Close()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%+v) = %v, want an error with %q", tc.o, err, tc.want)
		}
	}
	// A tokenizer larger than the model's vocabulary belongs to another model.
	tok := testdata.Path(t, "qwen2/tokenizer.json")
	if s, err := Open(Options{Model: "synthetic:tiny", Backend: "cpu", Tokenizer: tok}); err == nil || !strings.Contains(err.Error(), "another model") {
		if err == nil {
			s.Close()
		}
		t.Errorf("qwen2 tokenizer on a 512-token model: %v", err)
	}
}

func TestStopIDsWithoutTokenizer(t *testing.T) {
	s := openTiny(t)
	if got := s.StopIDs(); len(got) != 1 || got[0] != 2 {
		t.Errorf("synthetic:tiny stops at %v, want its EOS [2]", got)
	}
}

func TestPruningSchedule(t *testing.T) {
	def := &prune.Schedule{Locations: []int{2, 4}, Ratio: 0.9}
	for _, tc := range []struct {
		p    Pruning
		def  *prune.Schedule
		want string // schedule locations and ratio, or the error
	}{
		{Pruning{Preset: "paper"}, nil, "[4 7] 0.9"},
		{Pruning{Layers: "1,3", Ratio: 0.5}, nil, "[1 3] 0.5"},
		{Pruning{}, def, "[2 4] 0.9"},
		{Pruning{Ratio: 0.7}, def, "[2 4] 0.7"},
		{Pruning{Layers: "1", Preset: "paper"}, nil, "exclusive"},
		{Pruning{Ratio: 0.5, Preset: "paper"}, nil, "exclusive"},
		{Pruning{Layers: "1,3"}, nil, "needs --keep-ratio"},
		{Pruning{Layers: "1,9", Ratio: 0.5}, nil, "--prune-layers/--keep-ratio"},
		{Pruning{Ratio: 0.5}, nil, "--keep-ratio needs locations"},
		{Pruning{}, nil, "choose a schedule"},
		{Pruning{Preset: "nope"}, nil, "--prune:"},
	} {
		s, err := tc.p.Schedule(8, tc.def)
		got := fmt.Sprintf("%v %v", s.Locations, s.Ratio)
		if err != nil {
			got = err.Error()
		}
		if !strings.Contains(got, tc.want) {
			t.Errorf("%+v: got %q, want %q", tc.p, got, tc.want)
		}
	}
}

// TestPruner covers the pruner each combination of options gives and the
// errors of the incomplete ones.
func TestPruner(t *testing.T) {
	s := openTiny(t)
	mod := filepath.Join(t.TempDir(), "m.safetensors")
	m, err := prune.NewRandom(prune.ModelInfo{Name: "tiny", Arch: "llama", Hidden: 64, Layers: 8}, prune.Schedule{Locations: []int{2, 5}, Ratio: 0.8}, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Save(mod); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		p    Pruning
		want string // the schedule, "off", or the error
	}{
		{Pruning{Scorer: "module"}, "off"},
		{Pruning{Scorer: "module", Module: mod}, "[2 5] 0.8"},
		{Pruning{Scorer: "module", Module: mod, Ratio: 0.5}, "[2 5] 0.5"},
		{Pruning{Scorer: "random", Preset: "paper"}, "[4 7] 0.9"},
		{Pruning{Scorer: "recent", Layers: "3", Ratio: 0.6}, "[3] 0.6"},
		{Pruning{Scorer: "module", Preset: "paper"}, "--prune-module is required"},
		{Pruning{Scorer: "module", Ratio: 0.5}, "--prune-module is required"},
		{Pruning{Scorer: "module", Module: mod, Preset: "paper"}, "differ from the module's"},
		{Pruning{Scorer: "random"}, "choose a schedule"},
		{Pruning{Scorer: "best"}, `--prune-scorer "best"`},
		{Pruning{Scorer: "module", Module: filepath.Join(t.TempDir(), "none")}, "--prune-module:"},
	} {
		pr, cleanup, err := s.Pruner(tc.p)
		got := "off"
		switch {
		case err != nil:
			got = err.Error()
		case pr != nil:
			sc := pr.(*prune.Pruner).Schedule
			got = fmt.Sprintf("%v %v", sc.Locations, sc.Ratio)
		}
		if err == nil {
			cleanup()
		}
		if !strings.Contains(got, tc.want) {
			t.Errorf("%+v: got %q, want %q", tc.p, got, tc.want)
		}
	}
	ps, err := s.Pruners(Pruning{Scorer: "recent", Preset: "keep0.8"})
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	if !ps.Enabled() || ps.DefaultName() != "keep0.8" {
		t.Errorf("pruners enabled %v, default %q", ps.Enabled(), ps.DefaultName())
	}
	if _, err := ps.Get("paper-low"); err != nil {
		t.Errorf("Get(paper-low): %v", err)
	}
}

// TestChatTemplate detects the template beside the tokenizer, honours a
// name, and names --chat-template when there is nothing to detect.
func TestChatTemplate(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(`{"chat_template": 7}`), 0o644); err != nil {
		t.Fatal(err)
	}
	qwen := testdata.Path(t, "qwen2/tokenizer.json")
	for _, tc := range []struct {
		o          Options
		name, want string
	}{
		{Options{Tokenizer: qwen, Model: "synthetic:tiny"}, "", "qwen2.5"},
		{Options{Tokenizer: qwen}, "llama3", "llama3"},
		{Options{Model: "synthetic:tiny"}, "", "choose one with --chat-template"},
		{Options{Model: "synthetic:tiny"}, "bogus", "--chat-template: unknown chat template"},
		{Options{Model: dir}, "", "chat_template"},
	} {
		s := &Session{Options: tc.o}
		tm, err := s.ChatTemplate(tc.name)
		got := ""
		if err != nil {
			got = err.Error()
		} else {
			got = tm.Name()
		}
		if !strings.Contains(got, tc.want) {
			t.Errorf("%+v %q: got %q, want %q", tc.o, tc.name, got, tc.want)
		}
	}
	if src := (&Session{Options: Options{Tokenizer: qwen}}).ChatTemplateSource(); !strings.Contains(src, "<|im_start|>") {
		t.Errorf("template source %q", src)
	}
}

// TestChatIDs renders a chat with the template detected beside the
// tokenizer: the ids decode to the template's text, system turn included.
func TestChatIDs(t *testing.T) {
	qwen := testdata.Path(t, "qwen2/tokenizer.json")
	tok, err := OpenTokenizer("", qwen)
	if err != nil {
		t.Fatal(err)
	}
	s := &Session{Options: Options{Tokenizer: qwen}, Tok: tok}
	ids, err := s.ChatIDs("", "Be brief.", "Hi")
	if err != nil {
		t.Fatal(err)
	}
	want := "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
	if got := tok.Decode(ids); got != want {
		t.Errorf("decoded %q, want %q", got, want)
	}
	if _, err := s.ChatIDs("nope", "", "Hi"); err == nil {
		t.Error("unknown template accepted")
	}
}
