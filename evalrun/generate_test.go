package evalrun

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	_ "github.com/sdtp/sdtp/backend/cpu"
	"github.com/sdtp/sdtp/generate"
	"github.com/sdtp/sdtp/internal/testdata"
	"github.com/sdtp/sdtp/session"
)

// bosTok encodes text as one id per byte after BOS 1.
type bosTok struct{ bos int }

func (b bosTok) BOS() int                           { return b.bos }
func (b bosTok) DecodeSkipSpecial(ids []int) string { return "" }
func (b bosTok) EncodeWithSpecial(s string) []int {
	ids := []int{}
	if b.bos >= 0 {
		ids = append(ids, b.bos)
	}
	if strings.HasPrefix(s, "<s>") { // a chat template that wrote BOS as text
		ids, s = append(ids, b.bos), s[3:]
	}
	for _, c := range []byte(s) {
		ids = append(ids, int(c))
	}
	return ids
}

func TestEncodePromptKeepsOneBOS(t *testing.T) {
	for _, tc := range []struct {
		tok    bosTok
		prompt string
		want   []int
	}{
		{bosTok{1}, "ab", []int{1, 'a', 'b'}},
		{bosTok{1}, "<s>ab", []int{1, 'a', 'b'}},
		{bosTok{-1}, "ab", []int{'a', 'b'}},
	} {
		if got := EncodePrompt(tc.tok, tc.prompt); !slices.Equal(got, tc.want) {
			t.Errorf("EncodePrompt(%q) = %v, want %v", tc.prompt, got, tc.want)
		}
	}
}

// TestModelGeneratorSamsumRule checks pred.py's samsum rule on a real
// engine: a stop id may not be the first new token with StopAtNewline
// (min_length), ends generation at once without it, and the newline ends
// generation too.
func TestModelGeneratorSamsumRule(t *testing.T) {
	sess := openTiny(t)
	m, tok := sess.M, sess.Tok
	const prompt = "Once upon a time"
	free, err := generate.Run(context.Background(), m, tok, generate.Request{Prompt: EncodePrompt(tok, prompt), MaxTokens: 1})
	if err != nil {
		t.Fatal(err)
	}
	first := free.IDs()[0]
	g := NewModelGenerator(m, tok, []int{first}, nil)
	res, err := g.Generate(context.Background(), GenRequest{Prompt: prompt, MaxNewTokens: 24})
	if err != nil {
		t.Fatal(err)
	}
	if res.Text != "" || res.PromptTokens != len(EncodePrompt(tok, prompt)) || res.AliveTokens != res.PromptTokens {
		t.Errorf("without StopAtNewline the stop id %d came first and should end at once: %+v", first, res)
	}
	res, err = g.Generate(context.Background(), GenRequest{Prompt: prompt, MaxNewTokens: 24, StopAtNewline: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Text == "" || strings.Contains(res.Text, "\n") {
		t.Errorf("with StopAtNewline: text %q, want a first token that is not a stop id and no newline", res.Text)
	}
}

// TestBatchGeneratorAndPool: generations through two batchers behind a
// Pool, all sent at once, equal those of the plain generator one by one
// (the CPU's batched decoding is bit-identical).
func TestBatchGeneratorAndPool(t *testing.T) {
	sess := openTiny(t)
	m, tok := sess.M, sess.Tok
	stop := m.Config.StopIDs(tok.EOS())
	plain := NewModelGenerator(m, tok, stop, nil)
	var gens []Generator
	for range 2 {
		bt, err := generate.NewBatcher(m, generate.BatchOptions{MaxBatch: 3})
		if err != nil {
			t.Fatal(err)
		}
		defer bt.Close()
		gens = append(gens, NewBatchGenerator(bt, tok, stop, nil))
	}
	pool := NewPool(gens...)
	reqs := []GenRequest{
		{Prompt: "Once upon a time", MaxNewTokens: 20},
		{Prompt: "The cat", MaxNewTokens: 12, StopAtNewline: true},
		{Prompt: "Lily and Ben went to the park. They", MaxNewTokens: 30},
		{Prompt: "One day", MaxNewTokens: 5},
		{Prompt: "Tom had a red ball", MaxNewTokens: 25},
	}
	got := make([]GenResult, len(reqs))
	errs := make([]error, len(reqs))
	var wg sync.WaitGroup
	for i, r := range reqs {
		wg.Go(func() { got[i], errs[i] = pool.Generate(context.Background(), r) })
	}
	wg.Wait()
	for i, r := range reqs {
		want, err := plain.Generate(context.Background(), r)
		if err != nil || errs[i] != nil {
			t.Fatal(err, errs[i])
		}
		if got[i].Text != want.Text || got[i].PromptTokens != want.PromptTokens || got[i].AliveTokens != want.AliveTokens {
			t.Errorf("request %d: pooled %+v, alone %+v", i, got[i], want)
		}
	}
}

// openTiny opens a session of synthetic:tiny, whose 512 tokens are those of
// the tok512 tokenizer it is given, on a one-thread CPU backend.
func openTiny(t *testing.T) *session.Session {
	t.Helper()
	sess, err := session.Open(session.Options{Model: "synthetic:tiny", Tokenizer: testdata.Path(t, "llama2c/tok512.bin"), Backend: "cpu", Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sess.Close() })
	return sess
}
