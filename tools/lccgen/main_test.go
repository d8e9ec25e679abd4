package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sdtp/sdtp/internal/testdata"
	"github.com/sdtp/sdtp/longbench"
	"github.com/sdtp/sdtp/tokenizer"
)

// pyFile is a made-up Python file of n functions.
func pyFile(name string, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\nimport os\n\n", name)
	for i := range n {
		fmt.Fprintf(&b, "def %s_%d(path, size=%d):\n    \"\"\"Read %d bytes of path.\"\"\"\n\n    with open(path) as f:\n        return f.read(size + %d)\n\n", name, i, i*7, i, i%5)
	}
	return b.String()
}

func readRows(t *testing.T, path string) []longbench.Row {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rows []longbench.Row
	for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		var r longbench.Row
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	return rows
}

// TestLCCGen checks the rows against their files: the context is a file's
// beginning within the token bounds, the answer the next line, the tail
// row the context's last whole lines within the tail's tokens, and the
// same seed makes the same rows.
func TestLCCGen(t *testing.T) {
	tokPath := testdata.Path(t, "qwen2")
	tok, err := tokenizer.Load(tokPath)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := map[string]string{}
	var in strings.Builder
	for i := range 12 {
		p := fmt.Sprintf("pkg%d/mod.py", i)
		files[p] = pyFile(fmt.Sprintf("f%d", i), 20+10*i)
		line, _ := json.Marshal(map[string]string{"package": "site:pkg", "path": p, "text": files[p]})
		in.Write(append(line, '\n'))
	}
	in.WriteString(`{"path": "pkg/README.md", "text": "not python"}` + "\n")
	src := filepath.Join(dir, "heldout.jsonl")
	if err := os.WriteFile(src, []byte(in.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	gen := func(out string) {
		t.Helper()
		if err := run([]string{"-files", src, "-tokenizer", tokPath, "-out", out, "-rows", "8", "-min-tokens", "300",
			"-max-tokens", "900", "-tail-tokens", "128", "-seed", "3"}, io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	gen(a)
	gen(b)
	rows, tails := readRows(t, filepath.Join(a, "data", "lcc.jsonl")), readRows(t, filepath.Join(a, "tail", "lcc.jsonl"))
	if len(rows) < 4 || len(rows) != len(tails) {
		t.Fatalf("%d rows, %d tail rows", len(rows), len(tails))
	}
	for i, r := range rows {
		var file string
		for _, text := range files {
			if strings.HasPrefix(text, r.Context) {
				file = text
			}
		}
		n := len(tok.Encode(r.Context))
		if file == "" || !strings.HasPrefix(file[len(r.Context):], r.Answers[0]+"\n") || n < 300 || n > 900 || r.Dataset != "lcc" {
			t.Errorf("row %d: %d tokens, answer %q, not a cut of any file", i, n, r.Answers[0])
		}
		tl := tails[i]
		if tl.ID != r.ID || tl.Answers[0] != r.Answers[0] || !strings.HasSuffix(r.Context, tl.Context) ||
			len(tok.Encode(tl.Context)) > 128 || tl.Context == "" || !strings.HasSuffix(r.Context[:len(r.Context)-len(tl.Context)], "\n") {
			t.Errorf("tail row %d: %q", i, tl.Context)
		}
	}
	if again := readRows(t, filepath.Join(b, "data", "lcc.jsonl")); fmt.Sprint(again) != fmt.Sprint(rows) {
		t.Error("the same seed made other rows")
	}
	for _, args := range [][]string{
		{"-files", src, "-tokenizer", tokPath},
		{"-files", src, "-tokenizer", tokPath, "-out", dir, "-min-tokens", "100000", "-max-tokens", "200000"},
		{"-files", filepath.Join(dir, "none.jsonl"), "-tokenizer", tokPath, "-out", dir},
		{"-files", src, "-tokenizer", tokPath, "-out", dir, "-max-tokens", "10", "-min-tokens", "20"},
	} {
		if err := run(args, io.Discard); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
