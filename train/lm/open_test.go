package lm

import (
	"os"
	"strings"
	"testing"

	"github.com/sdtp/sdtp/internal/testdata"
	"github.com/sdtp/sdtp/internal/testmodel"
	"github.com/sdtp/sdtp/train/nn"
)

// TestStories260KGreedy checks the host forward pass on real weights:
// greedy decoding from BOS reproduces the start of llama2.c's reference
// output for stories260K.
func TestStories260KGreedy(t *testing.T) {
	path := testmodel.Stories260KPath(t)
	ref, err := os.ReadFile(testdata.Path(t, "llama2c/expected_stories260K_t0_n200.txt"))
	if err != nil {
		t.Fatal(err)
	}
	tok := testmodel.Tokenizer(t, "llama2c/tok512.bin")
	m, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if c := m.Config; c.Hidden != 64 || c.Layers != 5 || c.Vocab != 512 || c.KVHeads != 4 {
		t.Fatalf("config %+v", m.Config)
	}
	ids := []int{tok.BOS()}
	for len(ids) < 48 {
		tr, err := m.Forward(ids, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, nn.Argmax(tr.LogProbs(len(ids)-1)))
	}
	got := strings.TrimLeft(tok.Decode(ids[1:]), " ")
	if len(got) < 100 || !strings.HasPrefix(string(ref), got) {
		t.Fatalf("greedy text %q is not a prefix of the reference %q", got, ref[:min(len(ref), len(got)+20)])
	}
}
