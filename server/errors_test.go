package server

import (
	"fmt"

	"github.com/sdtp/sdtp/model"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

func TestErrorStatuses(t *testing.T) {
	long := make([]int, 300) // the fake model has 256 positions
	for i := range long {
		long[i] = 5
	}
	tests := []struct {
		name   string
		method string
		path   string
		body   any
		header map[string]string
		opts   func(*Options)
		status int
		typ    string
		param  string // JSON of error.param
		code   string // JSON of error.code
	}{
		{name: "bad JSON", path: "/v1/completions", body: `{"prompt": "x",`, status: 400, typ: typeInvalidRequest, param: "null"},
		{name: "not JSON", path: "/v1/completions", body: `prompt=x`, status: 400, typ: typeInvalidRequest, param: "null"},
		{name: "empty body", path: "/v1/completions", body: ``, status: 400, typ: typeInvalidRequest},
		{name: "array body", path: "/v1/completions", body: `[1,2]`, status: 400, typ: typeInvalidRequest},
		{name: "trailing data", path: "/v1/completions", body: `{"prompt":"x"} {}`, status: 400, typ: typeInvalidRequest},
		{name: "max_tokens string", path: "/v1/completions", body: `{"prompt":"x","max_tokens":"5"}`, status: 400, param: `"max_tokens"`},
		{name: "max_tokens float", path: "/v1/completions", body: `{"prompt":"x","max_tokens":1.5}`, status: 400, param: `"max_tokens"`},
		{name: "temperature string", path: "/v1/completions", body: `{"prompt":"x","temperature":"hot"}`, status: 400, param: `"temperature"`},
		{name: "stream string", path: "/v1/completions", body: `{"prompt":"x","stream":"yes"}`, status: 400, param: `"stream"`},
		{name: "prompt object", path: "/v1/completions", body: `{"prompt":{"a":1}}`, status: 400, param: `"prompt"`},
		{name: "prompt missing", path: "/v1/completions", body: `{"model":"fake"}`, status: 400, param: `"prompt"`},
		{name: "prompt empty list", path: "/v1/completions", body: `{"prompt":[]}`, status: 400, param: `"prompt"`},
		{name: "prompt mixed list", path: "/v1/completions", body: `{"prompt":["a", 5]}`, status: 400, param: `"prompt"`},
		{name: "prompt negative id", path: "/v1/completions", body: `{"prompt":[1,-2]}`, status: 400, param: `"prompt"`},
		{name: "prompt float id", path: "/v1/completions", body: `{"prompt":[1,2.5]}`, status: 400, param: `"prompt"`},
		{name: "prompt id past vocab", path: "/v1/completions", body: `{"prompt":[1,999]}`, status: 400, param: `"prompt"`},
		{name: "prompt empty id list", path: "/v1/completions", body: `{"prompt":[[1],[]]}`, status: 400, param: `"prompt"`},
		{name: "stop number", path: "/v1/completions", body: `{"prompt":"x","stop":5}`, status: 400, param: `"stop"`},
		{name: "sdtp wrong type", path: "/v1/completions", body: `{"prompt":"x","sdtp":{"prune":1}}`, status: 400, param: `"sdtp.prune"`},
		{name: "no pruning configured", path: "/v1/completions", body: `{"prompt":"x","sdtp":{"prune":"paper"}}`, status: 400, param: `"sdtp.prune"`},
		{name: "unknown model", path: "/v1/completions", body: `{"model":"gpt-4","prompt":"x"}`, status: 404, typ: typeInvalidRequest, param: `"model"`, code: `"model_not_found"`},
		{name: "unknown model chat", path: "/v1/chat/completions", body: `{"model":"gpt-4","messages":[{"role":"user","content":"x"}]}`, status: 404, code: `"model_not_found"`},
		{name: "unknown model get", method: "GET", path: "/v1/models/gpt-4", status: 404, code: `"model_not_found"`},
		{name: "over-long prompt", path: "/v1/completions", body: map[string]any{"prompt": long}, status: 400, param: `"prompt"`, code: `"context_length_exceeded"`},
		{name: "prompt plus max_tokens too long", path: "/v1/completions", body: map[string]any{"prompt": long[:250], "max_tokens": 10}, status: 400, code: `"context_length_exceeded"`},
		{name: "over-long chat", path: "/v1/chat/completions", body: map[string]any{"messages": []map[string]string{{"role": "user", "content": strings.Repeat("x", 300)}}}, status: 400, param: `"messages"`, code: `"context_length_exceeded"`},
		{name: "max context option", path: "/v1/completions", body: map[string]any{"prompt": long[:50]}, opts: func(o *Options) { o.MaxContext = 60 }, status: 400, code: `"context_length_exceeded"`},
		{name: "too many prompts", path: "/v1/completions", body: map[string]any{"prompt": []string{"a", "b", "c"}}, opts: func(o *Options) { o.MaxPrompts = 2 }, status: 400, param: `"prompt"`},
		{name: "body too large", path: "/v1/completions", body: map[string]any{"prompt": strings.Repeat("x", 2000)}, opts: func(o *Options) { o.MaxBody = 1000 }, status: 413, code: `"request_too_large"`},
		{name: "negative max_tokens", path: "/v1/completions", body: `{"prompt":"x","max_tokens":-1}`, status: 400, param: `"max_tokens"`},
		{name: "temperature too high", path: "/v1/completions", body: `{"prompt":"x","temperature":2.5}`, status: 400, param: `"temperature"`},
		{name: "top_p too high", path: "/v1/completions", body: `{"prompt":"x","top_p":1.5}`, status: 400, param: `"top_p"`},
		{name: "top_k negative", path: "/v1/completions", body: `{"prompt":"x","top_k":-3}`, status: 400, param: `"top_k"`},
		{name: "n 2", path: "/v1/completions", body: `{"prompt":"x","n":2}`, status: 400, param: `"n"`},
		{name: "best_of 3", path: "/v1/completions", body: `{"prompt":"x","best_of":3}`, status: 400, param: `"best_of"`},
		{name: "suffix", path: "/v1/completions", body: `{"prompt":"x","suffix":"end"}`, status: 400, param: `"suffix"`},
		{name: "logprobs too many", path: "/v1/completions", body: `{"prompt":"x","logprobs":50}`, status: 400, param: `"logprobs"`},
		{name: "penalty", path: "/v1/completions", body: `{"prompt":"x","presence_penalty":0.5}`, status: 400, param: `"presence_penalty"`},
		{name: "logit bias", path: "/v1/completions", body: `{"prompt":"x","logit_bias":{"5":1}}`, status: 400, param: `"logit_bias"`},
		{name: "text without tokenizer", path: "/v1/completions", body: `{"prompt":"x"}`, opts: func(o *Options) { o.Tokenizer = nil }, status: 400, code: `"no_tokenizer"`},
		{name: "chat without template", path: "/v1/chat/completions", body: `{"messages":[{"role":"user","content":"x"}]}`, opts: func(o *Options) { o.Chat = nil }, status: 400, code: `"no_chat_template"`},
		{name: "chat no messages", path: "/v1/chat/completions", body: `{"messages":[]}`, status: 400, param: `"messages"`},
		{name: "chat messages wrong type", path: "/v1/chat/completions", body: `{"messages":"hi"}`, status: 400, param: `"messages"`},
		{name: "chat bad role", path: "/v1/chat/completions", body: `{"messages":[{"role":"wizard","content":"x"}]}`, status: 400, param: `"messages[0].role"`},
		{name: "chat image part", path: "/v1/chat/completions", body: `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}`, status: 400, param: `"messages[0].content"`},
		{name: "chat top_logprobs without logprobs", path: "/v1/chat/completions", body: `{"messages":[{"role":"user","content":"x"}],"top_logprobs":2}`, status: 400, param: `"top_logprobs"`},
		{name: "tokenize missing prompt", path: "/tokenize", body: `{}`, status: 400, param: `"prompt"`},
		{name: "detokenize bad id", path: "/detokenize", body: `{"tokens":[1,100000]}`, status: 400, param: `"tokens"`},
		{name: "detokenize wrong type", path: "/detokenize", body: `{"tokens":"abc"}`, status: 400, param: `"tokens"`},
		{name: "tokenizer_info without tokenizer", method: "GET", path: "/tokenizer_info", opts: func(o *Options) { o.Tokenizer = nil }, status: 400, code: `"no_tokenizer"`},
		{name: "missing API key", path: "/v1/completions", body: `{"prompt":"x"}`, opts: func(o *Options) { o.APIKey = "sekret" }, status: 401, typ: typeAuthentication, code: `"missing_api_key"`},
		{name: "wrong API key", path: "/v1/completions", body: `{"prompt":"x"}`, header: map[string]string{"Authorization": "Bearer nope"}, opts: func(o *Options) { o.APIKey = "sekret" }, status: 401, typ: typeAuthentication, code: `"invalid_api_key"`},
		{name: "API key without Bearer", method: "GET", path: "/v1/models", header: map[string]string{"Authorization": "sekret"}, opts: func(o *Options) { o.APIKey = "sekret" }, status: 401, code: `"invalid_api_key"`},
		{name: "models need the key", method: "GET", path: "/v1/models", opts: func(o *Options) { o.APIKey = "sekret" }, status: 401},
		{name: "wrong method", method: "GET", path: "/v1/completions", status: 405, code: `"method_not_allowed"`},
		{name: "unknown path", method: "GET", path: "/v2/everything", status: 404, typ: typeNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := defaultOptions()
			if tc.opts != nil {
				tc.opts(&o)
			}
			env := newTestEnv(t, nil, o)
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			status, _, data := env.do(method, tc.path, tc.body, tc.header)
			if status != tc.status {
				t.Fatalf("status %d, want %d; body %s", status, tc.status, data)
			}
			eb := checkErrorShape(t, data)
			if tc.typ != "" && eb.Error.Type != tc.typ {
				t.Errorf("type %q, want %q", eb.Error.Type, tc.typ)
			}
			if tc.param != "" && string(eb.Error.Param) != tc.param {
				t.Errorf("param %s, want %s (message %q)", eb.Error.Param, tc.param, eb.Error.Message)
			}
			if tc.code != "" && string(eb.Error.Code) != tc.code {
				t.Errorf("code %s, want %s (message %q)", eb.Error.Code, tc.code, eb.Error.Message)
			}
			if n := env.eng.calls.Load(); n != 0 {
				t.Errorf("the engine ran %d times for a refused request", n)
			}
		})
	}
}

func TestAPIKeyAccepted(t *testing.T) {
	o := defaultOptions()
	o.APIKey = "sekret"
	env := newTestEnv(t, nil, o)
	status, _, data := env.do(http.MethodPost, "/v1/completions", `{"prompt":"x","max_tokens":1}`, map[string]string{"Authorization": "Bearer sekret"})
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, data)
	}
	if status, _, _ := env.do(http.MethodGet, "/health", nil, nil); status != http.StatusOK {
		t.Errorf("/health needs no key, got %d", status)
	}
}

func TestQueueFullGives429(t *testing.T) {
	eng := newFakeEngine()
	eng.gate = make(chan struct{})
	eng.started = make(chan struct{}, 8)
	o := defaultOptions()
	o.MaxConcurrent, o.Queue, o.RetryAfter = 1, 1, 7
	env := newTestEnv(t, eng, o)
	results := make(chan int, 2)
	for range 2 {
		go func() {
			status, _, _ := env.do(http.MethodPost, "/v1/completions", `{"prompt":"x","max_tokens":1}`, nil)
			results <- status
		}()
	}
	<-eng.started // one runs; wait until the other waits in the queue
	for {
		if _, waiting := env.s.adm.load(); waiting == 1 {
			break
		}
		select {
		case <-eng.started:
			t.Fatal("a second generation started with max concurrent 1")
		default:
		}
	}
	status, hdr, data := env.do(http.MethodPost, "/v1/completions", `{"prompt":"x","max_tokens":1}`, nil)
	if status != http.StatusTooManyRequests || hdr.Get("Retry-After") != strconv.Itoa(7) {
		t.Errorf("third request: status %d Retry-After %q, want 429 and 7", status, hdr.Get("Retry-After"))
	}
	if eb := checkErrorShape(t, data); eb.Error.Type != typeRateLimit {
		t.Errorf("type %q", eb.Error.Type)
	}
	close(eng.gate)
	for range 2 {
		if s := <-results; s != http.StatusOK {
			t.Errorf("queued request got %d", s)
		}
	}
}

func TestNoQueue(t *testing.T) {
	eng := newFakeEngine()
	eng.gate = make(chan struct{})
	eng.started = make(chan struct{}, 1)
	o := defaultOptions()
	o.Queue = -1
	env := newTestEnv(t, eng, o)
	done := make(chan int, 1)
	go func() {
		status, _, _ := env.do(http.MethodPost, "/v1/completions", `{"prompt":"x","max_tokens":1}`, nil)
		done <- status
	}()
	<-eng.started
	if status, _, data := env.do(http.MethodPost, "/v1/completions", `{"prompt":"x","max_tokens":1}`, nil); status != http.StatusTooManyRequests {
		t.Errorf("with no queue a second request got %d: %s", status, data)
	}
	close(eng.gate)
	if s := <-done; s != http.StatusOK {
		t.Errorf("first request got %d", s)
	}
}

func TestTooLongFromEngineIs400(t *testing.T) {
	ae := asAPIError(fmt.Errorf("forward: 9000 tokens exceed the sliding window: %w", model.ErrTooLong))
	if ae.Status != http.StatusBadRequest || ae.Code == nil || *ae.Code != "context_length_exceeded" {
		t.Fatalf("got %d %v", ae.Status, ae.Code)
	}
}
