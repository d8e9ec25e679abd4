package longbench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestResolveTemplate(t *testing.T) {
	dir := t.TempDir()
	configDir := func(config string) string {
		d := t.TempDir()
		if err := os.WriteFile(filepath.Join(d, "tokenizer_config.json"), []byte(config), 0o644); err != nil {
			t.Fatal(err)
		}
		return d
	}
	base := configDir(`{"eos_token": "<|endoftext|>", "bos_token": null}`) // a base model: no chat_template
	odd := configDir(`{"chat_template": "{{ messages }}"}`)
	for _, tc := range []struct {
		name, dir, want, err string
	}{
		{"none", dir, "none", ""}, {"official-llama2", dir, "official-llama2", ""}, {"chatml", dir, "chatml", ""},
		{"", dir, "none", ""},  // no tokenizer_config.json beside dir
		{"", base, "none", ""}, // a tokenizer_config.json without chat_template
		{"chatml", base, "chatml", ""},
		{"", odd, "", "unrecognised chat template in " + odd},
		{"bogus", dir, "", "want none, official-llama2 or one of"},
	} {
		_, got, err := ResolveTemplate(tc.name, tc.dir)
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("ResolveTemplate(%q) = %q, %v; want %q, %q", tc.name, got, err, tc.want, tc.err)
		}
	}
}
