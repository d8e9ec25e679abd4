package longbench

import (
	"strings"
	"testing"
)

func TestResolveTemplate(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, want, err string
	}{
		{"none", "none", ""}, {"official-llama2", "official-llama2", ""}, {"chatml", "chatml", ""},
		{"", "none", ""}, // no tokenizer_config.json beside dir
		{"bogus", "", "want none, official-llama2 or one of"},
	} {
		_, got, err := ResolveTemplate(tc.name, dir)
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("ResolveTemplate(%q) = %q, %v; want %q, %q", tc.name, got, err, tc.want, tc.err)
		}
	}
}
