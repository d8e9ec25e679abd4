package chat

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sdtp/sdtp/internal/testdata"
)

func TestDetectQwen25(t *testing.T) {
	tm, err := Detect(testdata.Path(t, "qwen2/tokenizer_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if tm.Name() != "qwen2.5" {
		t.Errorf("detected %q, want qwen2.5", tm.Name())
	}
}

func writeConfig(t *testing.T, cfg map[string]any) string {
	t.Helper()
	data, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "tokenizer_config.json")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDetect(t *testing.T) {
	for _, c := range []struct {
		src, want string
	}{
		{qwen2Template, "chatml"},
		{chatMLTemplate, "chatml-plain"},
		{llama2Template, "llama2"},
		// The same template with one space instead of two before '+', as
		// some copies have it, and real newlines instead of \n escapes.
		{strings.ReplaceAll(strings.Replace(llama2Template, "' '  +", "' ' +", 1), `\n`, "\n"), "llama2"},
		{mistralTemplate, "mistral"},
		// Different indentation inside whitespace-controlled tags.
		{strings.ReplaceAll(mistralTemplate, "\n    ", "\n  "), "mistral"},
		{mistralV01Template, "mistral-v0.1"},
		{mixtralTemplate, "mixtral"},
		{llama3Template, "llama3"},
		{llama3FirstTemplate, "llama3"},
	} {
		p := writeConfig(t, map[string]any{"chat_template": c.src, "bos_token": map[string]any{"content": "<s>"}, "eos_token": "</s>"})
		tm, err := Detect(p)
		if err != nil {
			t.Errorf("%s: %v", c.want, err)
			continue
		}
		if tm.Name() != c.want {
			t.Errorf("detected %q, want %q", tm.Name(), c.want)
		}
	}
}

// TestDetectUsesConfigTokens checks that bos/eos come from the file.
func TestDetectUsesConfigTokens(t *testing.T) {
	p := writeConfig(t, map[string]any{"chat_template": llama2Template, "bos_token": "<B>", "eos_token": map[string]any{"content": "<E>"}})
	tm, err := Detect(p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tm.Render([]Message{{"user", "a"}, {"assistant", "b"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := "<B>[INST] a [/INST] b <E>"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	// A list of named templates: "default" is used.
	p = writeConfig(t, map[string]any{"chat_template": []map[string]string{{"name": "tool_use", "template": "x"}, {"name": "default", "template": qwen2Template}}})
	if tm, err := Detect(p); err != nil || tm.Name() != "chatml" {
		t.Errorf("named list: %v, %v", tm, err)
	}
}

func TestDetectErrors(t *testing.T) {
	for _, c := range []struct {
		cfg  map[string]any
		want string
	}{
		{map[string]any{"chat_template": "{{ messages }}"}, "unrecognised chat template"},
		{map[string]any{"chat_template": strings.Replace(llama2Template, "[INST]", "[INSTR]", 1)}, "unrecognised chat template"},
		{map[string]any{"bos_token": "<s>"}, "no chat_template"},
		{map[string]any{"chat_template": 3}, "chat_template"},
		{map[string]any{"chat_template": llama2Template, "eos_token": 3}, "eos_token"},
	} {
		p := writeConfig(t, c.cfg)
		_, err := Detect(p)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
			t.Errorf("%v: err = %v, want mention of %q and the file", c.cfg, err, c.want)
		}
		hint := "unrecognised chat template in " + p + "; choose one with --chat-template chatml|llama2|mistral|llama3"
		if c.want == "unrecognised chat template" && err.Error() != hint {
			t.Errorf("error %q, want %q", err, hint)
		}
	}
	if _, err := Detect(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("missing file: no error")
	}
}

func FuzzDetectJSON(f *testing.F) {
	for _, src := range []string{qwen2Template, llama2Template, mistralTemplate, "{{", "{% '", `{{ "\`} {
		data, _ := json.Marshal(map[string]any{"chat_template": src, "bos_token": "<s>"})
		f.Add(data)
	}
	f.Add([]byte(`{"chat_template": [{"name": "default"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tm, err := DetectJSON(data)
		if err != nil {
			return
		}
		if _, err := tm.Render([]Message{{"user", "x"}}, true); err != nil {
			t.Errorf("%s: %v", tm.Name(), err)
		}
	})
}

// TestFindConfigAndResolve covers the lookup beside a file, in a folder,
// the first path that has one winning, and a name overriding detection.
func TestFindConfigAndResolve(t *testing.T) {
	cfg := writeConfig(t, map[string]any{"chat_template": llama3Template})
	dir := filepath.Dir(cfg)
	file := filepath.Join(dir, "tokenizer.json")
	if err := os.WriteFile(file, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	none := t.TempDir()
	for _, tc := range []struct {
		paths []string
		want  string
	}{
		{[]string{dir}, cfg}, {[]string{file}, cfg}, {[]string{"", none, file}, cfg},
		{[]string{none}, ""}, {nil, ""},
	} {
		if got := FindConfig(tc.paths...); got != tc.want {
			t.Errorf("FindConfig(%q) = %q, want %q", tc.paths, got, tc.want)
		}
	}
	if tm, err := Resolve("", none, dir); err != nil || tm.Name() != "llama3" {
		t.Errorf("Resolve detected %v, %v; want llama3", tm, err)
	}
	if tm, err := Resolve("chatml", dir); err != nil || tm.Name() != "chatml" {
		t.Errorf("Resolve(chatml) = %v, %v", tm, err)
	}
	if _, err := Resolve("", none); !errors.Is(err, ErrNoConfig) {
		t.Errorf("Resolve without a config: %v, want ErrNoConfig", err)
	}
	if _, err := Resolve("nope", dir); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("Resolve(nope): %v", err)
	}
}

// TestSource reads the template text: a string, the "default" of a list,
// or "" when the config has none.
func TestSource(t *testing.T) {
	for _, tc := range []struct {
		cfg  map[string]any
		want string
	}{
		{map[string]any{"chat_template": "{{ x }}"}, "{{ x }}"},
		{map[string]any{"chat_template": []map[string]string{{"name": "tool_use", "template": "a"}, {"name": "default", "template": "b"}}}, "b"},
		{map[string]any{"bos_token": "<s>"}, ""},
	} {
		got, err := Source(writeConfig(t, tc.cfg))
		if err != nil || got != tc.want {
			t.Errorf("Source(%v) = %q, %v; want %q", tc.cfg, got, err, tc.want)
		}
	}
	if _, err := Source(writeConfig(t, map[string]any{"chat_template": 3})); err == nil || !strings.Contains(err.Error(), "tokenizer_config.json") {
		t.Errorf("Source of a number: %v", err)
	}
}
