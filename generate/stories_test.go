package generate_test

import (
	"context"
	"math"
	"os"
	"testing"

	"github.com/sdtp/sdtp/generate"
	"github.com/sdtp/sdtp/internal/testdata"
	"github.com/sdtp/sdtp/internal/testmodel"
	"github.com/sdtp/sdtp/model"
)

// TestStories260KMatchesLlama2C reproduces llama2.c's reference greedy
// output of stories260K (200 forward passes from BOS) byte for byte.
func TestStories260KMatchesLlama2C(t *testing.T) {
	want, err := os.ReadFile(testdata.Path(t, "llama2c/expected_stories260K_t0_n200.txt"))
	if err != nil {
		t.Fatal(err)
	}
	m := testmodel.Stories260K(t)
	tok := testmodel.Tokenizer(t, "llama2c/tok512.bin")
	var streamed []byte
	res, err := generate.Run(context.Background(), m, tok, generate.Request{
		Prompt: []int{m.Config.BOS}, MaxTokens: 200, StopIDs: []int{m.Config.BOS},
		OnText: func(s string) error { streamed = append(streamed, s...); return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Text != string(want) {
		t.Fatalf("text differs from llama2.c:\n got %q\nwant %q", res.Text, want)
	}
	if string(streamed) != res.Text {
		t.Fatalf("streamed text %q differs from the final text", streamed)
	}
}

// TestPromptLogprobsMatchFullLogits checks the blockwise prompt scoring
// (more than one 256-row block) against log-softmax of the full logits.
func TestPromptLogprobsMatchFullLogits(t *testing.T) {
	m := testmodel.Stories260K(t)
	n := 300
	prompt := make([]int, n)
	pos := make([]int32, n)
	for i := range prompt {
		prompt[i] = (i*37 + 1) % m.Config.Vocab
		pos[i] = int32(i)
	}
	full, err := m.Forward(context.Background(), prompt, pos, m.NewCache(0), model.ForwardOptions{AllLogits: true})
	if err != nil {
		t.Fatal(err)
	}
	res, err := generate.Run(context.Background(), m, nil, generate.Request{Prompt: prompt, MaxTokens: 1, PromptLogprobs: true, TopLogprobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	v := m.Config.Vocab
	for i := 1; i < n; i++ {
		lp := generate.LogSoftmax(full[(i-1)*v : i*v])
		got := res.PromptLogprobs[i]
		if got.ID != prompt[i] || math.Abs(got.Logprob-lp[prompt[i]]) > 1e-9 || len(got.Top) != 2 {
			t.Fatalf("token %d: got %+v, want logprob %v", i, got, lp[prompt[i]])
		}
	}
	if !math.IsNaN(res.PromptLogprobs[0].Logprob) {
		t.Fatal("the first prompt token has a logprob")
	}
	// The first generated token comes from the last row, as without scoring.
	if want := generate.Argmax(full[(n-1)*v:]); res.Tokens[0].ID != want {
		t.Fatalf("first token %d, want %d", res.Tokens[0].ID, want)
	}
}

// TestMinTokensForbidsEarlyStops: with the greedy first token as a stop id,
// MinTokens 1 makes the first token the runner-up and generation go on;
// without it generation stops at once.
func TestMinTokensForbidsEarlyStops(t *testing.T) {
	m := testmodel.Stories260K(t)
	prompt := []int{1, 403, 407}
	free, err := generate.Run(context.Background(), m, nil, generate.Request{Prompt: prompt, MaxTokens: 3})
	if err != nil {
		t.Fatal(err)
	}
	first := free.Tokens[0].ID
	stopped, err := generate.Run(context.Background(), m, nil, generate.Request{Prompt: prompt, MaxTokens: 3, StopIDs: []int{first}})
	if err != nil {
		t.Fatal(err)
	}
	if len(stopped.Tokens) != 0 || stopped.FinishReason != "stop" {
		t.Fatalf("without MinTokens: %v %s", stopped.IDs(), stopped.FinishReason)
	}
	held, err := generate.Run(context.Background(), m, nil, generate.Request{Prompt: prompt, MaxTokens: 3, StopIDs: []int{first}, MinTokens: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(held.Tokens) == 0 || held.Tokens[0].ID == first {
		t.Fatalf("with MinTokens 1: %v", held.IDs())
	}
}
