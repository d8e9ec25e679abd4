package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/sdtp/sdtp/internal/testdata"
)

func runTokenizeCmd(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb}
	err := runTokenize(context.Background(), e, args)
	return out.String(), errb.String(), err
}

// TestTokenizeCommand runs 'sdtp tokenize': each case's output, or an
// error that mentions errWant.
func TestTokenizeCommand(t *testing.T) {
	bin := testdata.Path(t, "llama2c/tokenizer.bin")
	qwen := testdata.Path(t, "qwen2/tokenizer.json")
	for _, c := range []struct {
		name    string
		stdin   string
		args    []string
		want    string
		errWant string
	}{
		// Ids from llama2.c's tokenizer_bin_vectors.json (BOS included).
		{"encode with BOS", "I believe the meaning of life is", []string{"--tokenizer", bin, "--special"}, "1 306 4658 278 6593 310 2834 338\n", ""},
		{"encode", "I believe", []string{"--tokenizer", bin}, "306 4658\n", ""},
		{"decode", "1 306 4658,278\n", []string{"--tokenizer", bin, "--decode"}, "<s> I believe the", ""},
		{"decode skipping specials", "1 306 4658", []string{"--tokenizer", bin, "--decode", "--skip-special"}, "I believe", ""},
		// llama.cpp's ggml-vocab-qwen2 case " Hello world" is 21927 1879.
		{"qwen2", " Hello world", []string{"--tokenizer", qwen}, "21927 1879\n", ""},
		{"show", " Hello", []string{"--tokenizer", qwen, "--show"}, "21927\t\"ĠHello\"\n", ""},

		{"no tokenizer", "x", nil, "", "usage"},
		{"missing file", "x", []string{"--tokenizer", "/nonexistent/tokenizer.json"}, "", "--tokenizer"},
		{"bad id", "1 x", []string{"--tokenizer", bin, "--decode"}, "", `"x" is not a token id`},
		{"id out of range", "32000", []string{"--tokenizer", bin, "--decode"}, "", `token id 32000 is outside the vocabulary of`},
	} {
		got, stderr, err := runTokenizeCmd(t, c.stdin, c.args...)
		switch {
		case c.errWant != "":
			if err == nil || !strings.Contains(err.Error(), c.errWant) {
				t.Errorf("%s: err = %v, want mention of %q", c.name, err, c.errWant)
			}
		case err != nil:
			t.Errorf("%s: %v (%s)", c.name, err, stderr)
		case got != c.want:
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}
