package server

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/sdtp/sdtp/generate"
)

// completionOut mirrors a completions response for decoding in tests.
type completionOut struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Model   string `json:"model"`
	Choices []struct {
		Text     string `json:"text"`
		Index    int    `json:"index"`
		Logprobs *struct {
			Tokens        []string             `json:"tokens"`
			TokenLogprobs []*float64           `json:"token_logprobs"`
			TopLogprobs   []map[string]float64 `json:"top_logprobs"`
			TextOffset    []int                `json:"text_offset"`
		} `json:"logprobs"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
		TotalTokens      int `json:"total_tokens"`
		SDTP             *struct {
			Prune                string `json:"prune"`
			Schedule             string `json:"schedule"`
			ScoreTail            *int   `json:"score_tail"`
			UnscoredPromptTokens *int   `json:"unscored_prompt_tokens"`
			AliveLastLayer       int    `json:"alive_tokens_last_layer"`
			AlivePerLayer        []int  `json:"alive_tokens_per_layer"`
		} `json:"sdtp"`
	} `json:"usage"`
}

func TestCompletionPromptForms(t *testing.T) {
	tok := byteTokenizer{}
	tests := []struct {
		name    string
		prompt  any
		prompts [][]int // the token ids each choice continues
	}{
		{"string", "Hi", [][]int{tok.EncodeWithSpecial("Hi")}},
		{"strings", []string{"ab", "xyz", "q"}, [][]int{tok.EncodeWithSpecial("ab"), tok.EncodeWithSpecial("xyz"), tok.EncodeWithSpecial("q")}},
		{"ids", []int{5, 9, 100}, [][]int{{5, 9, 100}}},
		{"id lists", [][]int{{7}, {8, 9}, {10, 11, 12}}, [][]int{{7}, {8, 9}, {10, 11, 12}}},
		{"empty string is BOS", "", [][]int{{fakeBOS}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newTestEnv(t, nil, defaultOptions())
			var out completionOut
			env.post("/v1/completions", map[string]any{"model": "fake", "prompt": tc.prompt, "max_tokens": 3, "temperature": 0}, http.StatusOK, &out)
			if out.Object != "text_completion" || out.Model != "fake" || !strings.HasPrefix(out.ID, "cmpl-") {
				t.Errorf("header fields: object %q model %q id %q", out.Object, out.Model, out.ID)
			}
			if len(out.Choices) != len(tc.prompts) {
				t.Fatalf("%d choices, want %d", len(out.Choices), len(tc.prompts))
			}
			reqs := env.eng.requests()
			wantPrompt := 0
			for i, c := range out.Choices {
				if c.Index != i {
					t.Errorf("choice %d has index %d", i, c.Index)
				}
				want := tok.Decode(greedyFake(tc.prompts[i], 3))
				if c.Text != want {
					t.Errorf("choice %d text %q, want %q", i, c.Text, want)
				}
				if c.FinishReason == nil || *c.FinishReason != "length" {
					t.Errorf("choice %d finish reason %v, want length", i, c.FinishReason)
				}
				if c.Logprobs != nil {
					t.Errorf("choice %d has logprobs without asking", i)
				}
				if !slices.Equal(reqs[i].Prompt, tc.prompts[i]) {
					t.Errorf("engine prompt %d = %v, want %v", i, reqs[i].Prompt, tc.prompts[i])
				}
				wantPrompt += len(tc.prompts[i])
			}
			if u := out.Usage; u == nil || u.PromptTokens != wantPrompt || u.CompletionTokens != 3*len(tc.prompts) || u.TotalTokens != u.PromptTokens+u.CompletionTokens {
				t.Errorf("usage %+v, want %d prompt and %d completion tokens", out.Usage, wantPrompt, 3*len(tc.prompts))
			}
		})
	}
}

func TestCompletionSamplingFields(t *testing.T) {
	env := newTestEnv(t, nil, defaultOptions())
	env.post("/v1/completions", map[string]any{"prompt": "x", "max_tokens": 4, "temperature": 0.7, "top_p": 0.9, "top_k": 5, "seed": 42, "stop": []string{"", "zz"}}, http.StatusOK, nil)
	env.post("/v1/completions", map[string]any{"prompt": "x", "top_p": 0, "stop": "q", "ignore_eos": true}, http.StatusOK, nil)
	reqs := env.eng.requests()
	r := reqs[0]
	if r.MaxTokens != 4 || r.Temperature != 0.7 || r.TopP != 0.9 || r.TopK != 5 || r.Seed != 42 {
		t.Errorf("sampling passed as %+v", r.Sampling)
	}
	if len(r.StopStrings) != 1 || r.StopStrings[0] != "zz" || !slices.Equal(r.StopIDs, []int{fakeEOS}) {
		t.Errorf("stops %q / %v", r.StopStrings, r.StopIDs)
	}
	r = reqs[1]
	if r.MaxTokens != 16 || r.Temperature != 0 || r.StopIDs != nil || len(r.StopStrings) != 1 {
		t.Errorf("defaults: max tokens %d (want 16), temperature %v (top_p 0 is greedy), stop ids %v (ignore_eos), stops %q", r.MaxTokens, r.Temperature, r.StopIDs, r.StopStrings)
	}
}

func TestCompletionStopString(t *testing.T) {
	env := newTestEnv(t, nil, defaultOptions())
	full := byteTokenizer{}.Decode(greedyFake([]int{7}, 12))
	stop := full[5:7]
	var out completionOut
	env.post("/v1/completions", map[string]any{"prompt": []int{7}, "max_tokens": 12, "temperature": 0, "stop": stop}, http.StatusOK, &out)
	want := full[:strings.Index(full, stop)]
	if got := out.Choices[0].Text; got != want || *out.Choices[0].FinishReason != "stop" {
		t.Errorf("text %q finish %q, want %q stop", got, *out.Choices[0].FinishReason, want)
	}
}

// TestCompletionEchoLogprobs checks the shape lm-eval's loglikelihood reads:
// every prompt token with its logprob (the first null), then the generated
// ones, with matching top_logprobs and text offsets.
func TestCompletionEchoLogprobs(t *testing.T) {
	env := newTestEnv(t, nil, defaultOptions())
	prompt := []int{fakeBOS, 'T' + 3, 'h' + 3, 'e' + 3, ' ' + 3}
	var out completionOut
	env.post("/v1/completions", map[string]any{"model": "fake", "prompt": [][]int{prompt}, "temperature": 0, "max_tokens": 1, "logprobs": 1, "seed": 1234, "echo": true}, http.StatusOK, &out)
	c := out.Choices[0]
	lp := c.Logprobs
	if lp == nil {
		t.Fatal("no logprobs")
	}
	n := len(prompt) + 1
	if len(lp.Tokens) != n || len(lp.TokenLogprobs) != n || len(lp.TopLogprobs) != n || len(lp.TextOffset) != n {
		t.Fatalf("logprobs lengths %d %d %d %d, want %d", len(lp.Tokens), len(lp.TokenLogprobs), len(lp.TopLogprobs), len(lp.TextOffset), n)
	}
	if lp.TokenLogprobs[0] != nil || lp.TopLogprobs[0] != nil {
		t.Errorf("first prompt token: logprob %v top %v, want null", lp.TokenLogprobs[0], lp.TopLogprobs[0])
	}
	gen := greedyFake(prompt, 1)[0]
	all := append(append([]int(nil), prompt...), gen)
	for i := 1; i < n; i++ {
		want := generate.LogSoftmax(fakeLogits(all[i-1]))
		if lp.TokenLogprobs[i] == nil || math.Abs(*lp.TokenLogprobs[i]-want[all[i]]) > 1e-12 {
			t.Errorf("token %d logprob %v, want %v", i, lp.TokenLogprobs[i], want[all[i]])
		}
		best := greedyFake(all[i-1:i], 1)[0]
		if len(lp.TopLogprobs[i]) != 1 || lp.TopLogprobs[i][byteTokenizer{}.Decode([]int{best})] != want[best] {
			t.Errorf("token %d top %v, want {%q: %v}", i, lp.TopLogprobs[i], byteTokenizer{}.Decode([]int{best}), want[best])
		}
	}
	text := byteTokenizer{}.Decode(prompt)
	if want := text + (byteTokenizer{}).Decode([]int{gen}); c.Text != want {
		t.Errorf("echo text %q, want the prompt %q then the generated token", c.Text, text)
	}
	if strings.Join(lp.Tokens, "") != c.Text {
		t.Errorf("tokens %q do not concatenate to the text %q", lp.Tokens, c.Text)
	}
	for i, off := range lp.TextOffset {
		if !strings.HasPrefix(c.Text[off:], lp.Tokens[i]) {
			t.Errorf("text_offset[%d] = %d does not point at token %q", i, off, lp.Tokens[i])
		}
	}
	if r := env.eng.requests()[0]; !r.PromptLogprobs || r.Pruner != nil || r.TopLogprobs != 1 {
		t.Errorf("engine request: prompt logprobs %v pruner %v top %d", r.PromptLogprobs, r.Pruner, r.TopLogprobs)
	}
}

func TestCompletionEchoNoNewTokens(t *testing.T) {
	env := newTestEnv(t, nil, defaultOptions())
	var out completionOut
	env.post("/v1/completions", map[string]any{"prompt": "hello", "max_tokens": 0, "echo": true, "logprobs": 0}, http.StatusOK, &out)
	c := out.Choices[0]
	if c.Text != "hello" || len(c.Logprobs.Tokens) != 6 || len(c.Logprobs.TopLogprobs[1]) != 0 {
		t.Errorf("echo of a string prompt: text %q tokens %q top %v", c.Text, c.Logprobs.Tokens, c.Logprobs.TopLogprobs)
	}
}

func TestCompletionStream(t *testing.T) {
	env := newTestEnv(t, nil, defaultOptions())
	status, hdr, body := env.do(http.MethodPost, "/v1/completions", map[string]any{"prompt": []string{"a", "b"}, "max_tokens": 5, "temperature": 0, "stream": true, "echo": true, "logprobs": 2, "stream_options": map[string]bool{"include_usage": true}}, nil)
	if status != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("status %d content type %q: %s", status, hdr.Get("Content-Type"), body)
	}
	events, done := sseEvents(t, body)
	if !done {
		t.Fatal("stream does not end with [DONE]")
	}
	texts := map[int]string{}
	finished := map[int]int{}
	var tokens = map[int][]string{}
	var sawUsage bool
	for _, ev := range events {
		var c completionOut
		if err := json.Unmarshal(ev, &c); err != nil {
			t.Fatal(err)
		}
		if c.Usage != nil {
			sawUsage = true
			if len(c.Choices) != 0 || c.Usage.CompletionTokens != 10 {
				t.Errorf("usage chunk %s", ev)
			}
			continue
		}
		ch := c.Choices[0]
		texts[ch.Index] += ch.Text
		if ch.FinishReason != nil {
			finished[ch.Index]++
			if ch.Logprobs == nil {
				t.Errorf("final chunk of choice %d lacks the logprobs", ch.Index)
			} else {
				tokens[ch.Index] = ch.Logprobs.Tokens
			}
		}
	}
	for i, p := range []string{"a", "b"} {
		want := p + byteTokenizer{}.Decode(greedyFake(byteTokenizer{}.EncodeWithSpecial(p), 5))
		if texts[i] != want || finished[i] != 1 {
			t.Errorf("choice %d streamed %q (finished %d times), want %q", i, texts[i], finished[i], want)
		}
		if len(tokens[i]) != 2+5 {
			t.Errorf("choice %d logprobs cover %d tokens, want 7", i, len(tokens[i]))
		}
	}
	if !sawUsage {
		t.Error("no usage chunk")
	}
}

func TestCompletionUsageReportsPruning(t *testing.T) {
	var asked []string
	o := defaultOptions()
	o.DefaultPrune = "paper"
	o.Pruners = func(name string) (modelPruner, error) {
		asked = append(asked, name)
		if name == "bogus" {
			return nil, errUnknownPreset
		}
		return testPruner{}, nil
	}
	env := newTestEnv(t, nil, o)
	var out completionOut
	env.post("/v1/completions", map[string]any{"prompt": "abcdefgh", "max_tokens": 2}, http.StatusOK, &out)
	if sd := out.Usage.SDTP; sd == nil || sd.Prune != "paper" || sd.AliveLastLayer != 4 || len(sd.AlivePerLayer) != 4 || sd.AlivePerLayer[0] != 9 {
		t.Errorf("default schedule usage %+v", out.Usage.SDTP)
	}
	env.post("/v1/completions", map[string]any{"prompt": "abcdefgh", "max_tokens": 2, "sdtp": map[string]string{"prune": "off"}}, http.StatusOK, &out)
	if sd := out.Usage.SDTP; sd.Prune != "off" || sd.AliveLastLayer != 9 {
		t.Errorf("prune off usage %+v", sd)
	}
	env.post("/v1/completions", map[string]any{"prompt": "abcdefgh", "max_tokens": 2, "sdtp": map[string]string{"prune": "keep0.8"}}, http.StatusOK, &out)
	if out.Usage.SDTP.Prune != "keep0.8" {
		t.Errorf("preset usage %+v", out.Usage.SDTP)
	}
	data := env.post("/v1/completions", map[string]any{"prompt": "abc", "sdtp": map[string]string{"prune": "bogus"}}, http.StatusBadRequest, nil)
	if eb := checkErrorShape(t, data); !strings.Contains(eb.Error.Message, errUnknownPreset.Error()) {
		t.Errorf("message %q", eb.Error.Message)
	}
	if want := []string{"paper", "keep0.8", "bogus"}; strings.Join(asked, ",") != strings.Join(want, ",") {
		t.Errorf("pruners asked for %q, want %q", asked, want)
	}
	reqs := env.eng.requests()
	if reqs[0].Pruner == nil || reqs[1].Pruner != nil || reqs[2].Pruner == nil {
		t.Errorf("pruners passed: %v %v %v", reqs[0].Pruner, reqs[1].Pruner, reqs[2].Pruner)
	}
	if sd := out.Usage.SDTP; sd.ScoreTail != nil || sd.UnscoredPromptTokens != nil {
		t.Errorf("a generation request reports a score tail: %+v", sd)
	}
}

// scoringEnv is a fake server whose requests are pruned with "paper" by
// default, a prompt-scoring one with a score tail of 3.
func scoringEnv(t *testing.T) *testEnv {
	t.Helper()
	o := defaultOptions()
	o.DefaultPrune = "paper"
	o.ScoreTail = 3
	o.Pruners = func(string) (modelPruner, error) { return testPruner{}, nil }
	env := newTestEnv(t, nil, o)
	return env
}

// TestCompletionScoresPromptUnderPruning: a request that scores its prompt
// (echo with logprobs) is pruned like any other, its continuation taken
// from sdtp.score_tail or the server's ScoreTail; the tokens the engine
// leaves unscored get null logprobs, counted in usage.sdtp; score_tail
// elsewhere is refused.
func TestCompletionScoresPromptUnderPruning(t *testing.T) {
	env := scoringEnv(t)
	prompt := "abcdefghijklmnop" // 17 tokens with BOS
	cases := []struct {
		name  string
		sdtp  map[string]any
		prune string
		tail  int // -1: unpruned
	}{
		{"server default", nil, "paper", 3},
		{"request tail", map[string]any{"score_tail": 6}, "paper", 6},
		{"request schedule", map[string]any{"prune": "keep0.8", "score_tail": 0}, "keep0.8", 0},
		{"off", map[string]any{"prune": "off", "score_tail": 5}, "off", -1},
	}
	for k, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := map[string]any{"prompt": prompt, "max_tokens": 1, "echo": true, "logprobs": 1, "temperature": 0}
			if tc.sdtp != nil {
				body["sdtp"] = tc.sdtp
			}
			var out completionOut
			env.post("/v1/completions", body, http.StatusOK, &out)
			req := env.eng.requests()[k]
			sd := out.Usage.SDTP
			if sd.Prune != tc.prune || (req.Pruner != nil) != (tc.tail >= 0) {
				t.Fatalf("ran %q with pruner %v, want %q", sd.Prune, req.Pruner, tc.prune)
			}
			if tc.tail < 0 {
				if sd.ScoreTail != nil || sd.UnscoredPromptTokens != nil || req.Continuation != 0 {
					t.Errorf("unpruned request reports score tail %v, pruned %v, continuation %d", sd.ScoreTail, sd.UnscoredPromptTokens, req.Continuation)
				}
				return
			}
			if req.Continuation != tc.tail || sd.ScoreTail == nil || *sd.ScoreTail != tc.tail {
				t.Errorf("continuation %d, usage score tail %v, want %d", req.Continuation, sd.ScoreTail, tc.tail)
			}
			lps := out.Choices[0].Logprobs.TokenLogprobs
			nulls := 0
			for i, lp := range lps[1 : len(lps)-1] { // prompt tokens after the first
				if want := fakeUnscored(req, i+1); (lp == nil) != want {
					t.Errorf("prompt token %d: logprob %v, unscored %v", i+1, lp, want)
				}
				if lp == nil {
					nulls++
				}
			}
			if nulls == 0 || sd.UnscoredPromptTokens == nil || *sd.UnscoredPromptTokens != nulls {
				t.Errorf("%d null prompt logprobs, usage says %v", nulls, sd.UnscoredPromptTokens)
			}
			if !strings.Contains(env.logs.String(), fmt.Sprintf(`"alive_per_layer":[17,8,8,8],"score_tail":%d,"unscored_prompt_tokens":%d`, tc.tail, nulls)) {
				t.Errorf("the access log does not say what ran: %s", env.logs.String())
			}
		})
	}
	for _, bad := range []map[string]any{
		{"prompt": "abc", "sdtp": map[string]any{"score_tail": 2}},
		{"prompt": "abc", "echo": true, "sdtp": map[string]any{"score_tail": 2}},
		{"prompt": "abc", "echo": true, "logprobs": 1, "sdtp": map[string]any{"score_tail": -1}},
	} {
		data := env.post("/v1/completions", bad, http.StatusBadRequest, nil)
		if eb := checkErrorShape(t, data); string(eb.Error.Param) != `"sdtp.score_tail"` {
			t.Errorf("%v: param %s", bad, eb.Error.Param)
		}
	}
	data := env.post("/v1/chat/completions", map[string]any{"messages": []map[string]string{{"role": "user", "content": "hi"}}, "sdtp": map[string]any{"score_tail": 2}}, http.StatusBadRequest, nil)
	if eb := checkErrorShape(t, data); string(eb.Error.Param) != `"sdtp.score_tail"` {
		t.Errorf("chat: param %s", eb.Error.Param)
	}
}
