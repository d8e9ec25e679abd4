package tokenizer

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/sdtp/sdtp/internal/testdata"
)

var (
	qwenOnce sync.Once
	qwenTok  *BPE
	qwenErr  error
)

// loadQwen2 loads the shared Qwen2 tokenizer once for all tests.
func loadQwen2(t testing.TB) *BPE {
	t.Helper()
	path := testdata.Path(t, "qwen2/tokenizer.json")
	qwenOnce.Do(func() { qwenTok, qwenErr = LoadJSON(path) })
	if qwenErr != nil {
		t.Fatal(qwenErr)
	}
	return qwenTok
}

// readVocabTests reads llama.cpp's test-tokenizer-0 files: the .inp file
// holds the inputs, each followed by "\n__ggml_vocab_test__\n" (so the
// newline before a separator is not part of the input), and the .out file
// one line of space-separated ids per input.
func readVocabTests(t *testing.T, inp, out string) (inputs []string, want [][]int) {
	t.Helper()
	rawIn, err := os.ReadFile(inp)
	if err != nil {
		t.Fatal(err)
	}
	rawOut, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	inputs = strings.Split(string(rawIn), "\n__ggml_vocab_test__\n")
	if inputs[len(inputs)-1] != "" {
		t.Fatalf("%s does not end with a separator", inp)
	}
	inputs = inputs[:len(inputs)-1]
	lines := strings.Split(strings.TrimSuffix(string(rawOut), "\n"), "\n")
	if len(lines) != len(inputs) {
		t.Fatalf("%d inputs but %d output lines", len(inputs), len(lines))
	}
	for i, l := range lines {
		var ids []int
		for _, f := range strings.Fields(l) {
			id, err := strconv.Atoi(f)
			if err != nil {
				t.Fatalf("%s line %d: %v", out, i+1, err)
			}
			ids = append(ids, id)
		}
		want = append(want, ids)
	}
	return inputs, want
}

func TestQwen2GGMLVocab(t *testing.T) {
	tok := loadQwen2(t)
	inputs, want := readVocabTests(t,
		testdata.Path(t, "qwen2/ggml-vocab-qwen2.gguf.inp"),
		testdata.Path(t, "qwen2/ggml-vocab-qwen2.gguf.out"))
	if len(inputs) != 46 {
		t.Errorf("read %d cases, want 46", len(inputs))
	}
	for i, in := range inputs {
		got := tok.Encode(in)
		if !slices.Equal(got, want[i]) {
			t.Errorf("case %d %q:\n got %v\nwant %v", i, in, got, want[i])
		}
	}
}
