package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sdtp/sdtp/generate"
	"github.com/sdtp/sdtp/internal/testdata"
	"github.com/sdtp/sdtp/internal/testmodel"
)

// run runs the command line and returns its exit code, stdout and stderr.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, argv: append([]string{"sdtp"}, args...)}
	code := runMain(context.Background(), e, args)
	return code, out.String(), errb.String()
}

// initModule writes a random pruning module for the model at the given
// layers (keep ratio 0.7) with 'sdtp prune init' into dir, and returns its
// path.
func initModule(t *testing.T, model, dir, layers string) string {
	t.Helper()
	mod := filepath.Join(dir, "m.safetensors")
	if code, _, errOut := run(t, "prune", "init", "--model", model, "--out", mod, "--prune-layers", layers, "--keep-ratio", "0.7"); code != 0 {
		t.Fatalf("prune init: %s", errOut)
	}
	return mod
}

// TestGenerateStories260K is issue 2's first acceptance item: the README's
// command reproduces llama2.c's greedy output byte for byte.
func TestGenerateStories260K(t *testing.T) {
	ckpt, tok := testmodel.Stories260KFiles(t)
	want, err := os.ReadFile(testdata.Path(t, "llama2c/expected_stories260K_t0_n200.txt"))
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, "generate", "--backend", "cpu", "--model", ckpt, "--tokenizer", tok, "--temperature", "0", "--max-tokens", "200")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if out != string(want) {
		t.Fatalf("output differs from llama2.c:\n got %q\nwant %q", out, want)
	}
}

func TestGenerateJSONWithPruning(t *testing.T) {
	ckpt, tok := testmodel.Stories260KFiles(t)
	mod := initModule(t, ckpt, t.TempDir(), "2,3,4")
	prompt := strings.Repeat("Once upon a time there was a little girl. ", 8)
	code, out, errOut := run(t, "generate", "--backend", "cpu", "--model", ckpt, "--tokenizer", tok, "--prompt", prompt, "--max-tokens", "8", "--prune-module", mod, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var res generate.Summary
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	if len(res.TokenIDs) != 8 || res.PromptTokens < 50 || len(res.Alive) != 5 || len(res.KVBytes) != 5 {
		t.Fatalf("unexpected result %+v", res)
	}
	if !(res.Alive[0] == res.PromptTokens && res.Alive[4] < res.Alive[1]) {
		t.Fatalf("alive counts %v do not shrink", res.Alive)
	}
	for l := range res.Alive { // after prefill the cache holds the alive tokens (kv width 32, f32)
		if res.KVTokens[l] != res.Alive[l] || res.KVBytes[l] != int64(res.Alive[l])*2*32*4 {
			t.Errorf("layer %d: kv %d tokens %d bytes, alive %d", l, res.KVTokens[l], res.KVBytes[l], res.Alive[l])
		}
	}

	// --keep-ratio alone applies another ratio over the module's locations.
	code, out, errOut = run(t, "generate", "--backend", "cpu", "--model", ckpt, "--tokenizer", tok, "--prompt", prompt, "--max-tokens", "8", "--prune-module", mod, "--keep-ratio", "0.5", "--json")
	if code != 0 {
		t.Fatalf("--keep-ratio 0.5: exit %d: %s", code, errOut)
	}
	var half generate.Summary
	if err := json.Unmarshal([]byte(out), &half); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	n := float64(res.PromptTokens)
	if want := int(math.Round(n * 0.5)); half.Alive[1] != res.Alive[0] || half.Alive[2] != want {
		t.Fatalf("alive %v at ratio 0.5 over locations 2,3,4 of a %d-token prompt; want %d entering block 2", half.Alive, res.PromptTokens, want)
	}
}

func TestGenerateErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"generate", "--model", "synthetic:nope"}, "unknown synthetic model"},
		{[]string{"generate", "--model", "/no/such/dir"}, "no such file"},
		{[]string{"generate", "--max-tokens", "-1"}, "--max-tokens"},
		{[]string{"generate", "--top-p", "0"}, "--top-p"},
		{[]string{"generate", "--prompt", "x"}, "need a tokenizer"},
		{[]string{"generate", "--prompt", "x", "--chat", "y"}, "only one of"},
		{[]string{"generate", "--prompt-ids", "1 x"}, "--prompt-ids"},
		{[]string{"generate", "--prune", "paper"}, "--prune-module is required"},
		{[]string{"generate", "--prune", "bogus", "--prune-scorer", "random"}, "unknown schedule"},
		{[]string{"generate", "--backend", "tpu"}, "--backend"},
		{[]string{"generate", "--keep-ratio", "0.5"}, "--prune-module is required"},
		{[]string{"generate", "--top-p", "NaN"}, "--top-p NaN must be in (0, 1]"},
		{[]string{"generate", "--prune-layers", "4", "--prune-scorer", "recent"}, "--prune-layers needs --keep-ratio"},
		{[]string{"generate", "--temperature", "inf"}, "--temperature +Inf must be finite"},
		{[]string{"generate", "--prompt-ids", ""}, "--prompt-ids: no token ids given"},
		{[]string{"generate", "--prompt-ids", "1 99999"}, "--prompt-ids: token id 99999 is outside the vocabulary of"},
		{[]string{"generate", "--model", testmodel.Stories260KPath(t), "--tokenizer", testdata.Path(t, "qwen2/tokenizer.json"), "--prompt", "x"}, "--tokenizer has 151665 tokens but the model's vocabulary only 512"},
		{[]string{"generate", "--keep-ratio", "0.5", "--prune-scorer", "recent"}, "--keep-ratio needs locations"},
		{[]string{"generate", "--prune", "paper", "--keep-ratio", "0.5", "--prune-scorer", "recent"}, "--keep-ratio and --prune are exclusive"},
	}
	for _, tc := range tests {
		code, _, errOut := run(t, tc.args...)
		if code == 0 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want it to mention %q", tc.args, code, errOut, tc.want)
		}
	}
}

func TestHelpListsCommands(t *testing.T) {
	code, out, _ := run(t, "--help")
	if code != 0 || !strings.Contains(out, "generate") || !strings.Contains(out, "prune") {
		t.Fatalf("help: %d %q", code, out)
	}
	code, out, _ = run(t, "generate", "--help")
	if code != 0 || !strings.Contains(out, "-max-tokens") {
		t.Fatalf("generate help: %d %q", code, out)
	}
	if code, _, errOut := run(t, "train", "eval", "--model", "x"); code != 1 || !strings.HasPrefix(errOut, "sdtp train eval: ") {
		t.Errorf("a verb's error is not prefixed with the verb: %d %q", code, errOut)
	}
	if code, _, errOut := run(t, "help", "nosuch"); code != 2 || !strings.Contains(errOut, `unknown command "nosuch"`) {
		t.Errorf("help nosuch: %d %q", code, errOut)
	}
	if code, out, _ = run(t, "help", "train", "eval"); code != 0 || !strings.Contains(out, "Usage: sdtp train eval") {
		t.Errorf("help train eval: %d %q", code, out)
	}
	if code, out, _ = run(t, "generate", "--help"); !strings.Contains(out, "qwen2.5") {
		t.Errorf("generate --help does not list every chat template: %q", out)
	}
}

// TestGenerateSaysWhatItRuns: without --model, generate runs the tiny
// random-weight model and, without a tokenizer, prints ids; both are said
// on stderr, and stdout holds only the ids.
func TestGenerateSaysWhatItRuns(t *testing.T) {
	code, out, errOut := run(t, "generate", "--backend", "cpu", "--prompt-ids", "1 2 3", "--max-tokens", "3")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if ids, err := parseIDs(out, 512); err != nil || len(ids) != 3 {
		t.Errorf("stdout %q, want the 3 new token ids only (%v)", out, err)
	}
	for _, want := range []string{"no --model given: running synthetic:tiny", "random weights", "no tokenizer", "printing the new token ids"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr %q does not say %q", errOut, want)
		}
	}
	ckpt := testmodel.Stories260KPath(t)
	if _, _, errOut = run(t, "generate", "--backend", "cpu", "--model", ckpt, "--prompt-ids", "1", "--max-tokens", "1"); strings.Contains(errOut, "no --model") {
		t.Errorf("with --model, stderr still says %q", errOut)
	}
}

// nanCheckpoint writes a tiny llama2.c checkpoint whose weights are zero
// but for a NaN final norm, so every logit is NaN.
func nanCheckpoint(t *testing.T) string {
	t.Helper()
	const dim, hidden, layers, heads, kvHeads, vocab, seq = 8, 16, 1, 2, 2, 16, 32
	var b []byte
	for _, v := range []int32{dim, hidden, layers, heads, kvHeads, vocab, seq} {
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	kv := dim / heads * kvHeads
	before := vocab*dim + layers*(2*dim+2*dim*dim+2*kv*dim+3*hidden*dim) // up to the final norm
	after := seq * (dim / heads)                                         // the unused RoPE tables
	for i := 0; i < before+dim+after; i++ {
		v := float32(0)
		if i >= before && i < before+dim {
			v = float32(math.NaN())
		}
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	p := filepath.Join(t.TempDir(), "nan.bin")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestGenerateJSONNaNLogits: NaN logits give logprobs of null and a warning,
// and the rest of the result is still written.
func TestGenerateJSONNaNLogits(t *testing.T) {
	code, out, errOut := run(t, "generate", "--backend", "cpu", "--model", nanCheckpoint(t), "--prompt-ids", "1 5 6", "--max-tokens", "3", "--ignore-eos", "--json")
	if code != 0 {
		t.Fatalf("exit %d: stdout %q, stderr %q", code, out, errOut)
	}
	var res struct {
		TokenIDs []int      `json:"token_ids"`
		Logprobs []*float64 `json:"logprobs"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	if len(res.TokenIDs) != 3 || len(res.Logprobs) != 3 {
		t.Fatalf("%d tokens and %d logprobs, want 3 of each: %s", len(res.TokenIDs), len(res.Logprobs), out)
	}
	for i, lp := range res.Logprobs {
		if lp != nil {
			t.Errorf("logprob %d is %v, want null", i, *lp)
		}
	}
	if !strings.Contains(errOut, "warning") || !strings.Contains(errOut, "3 of 3 logprobs") {
		t.Errorf("stderr %q does not warn of the non-finite logprobs", errOut)
	}
}
