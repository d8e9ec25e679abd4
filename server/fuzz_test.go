package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// fuzzServer is a server over the fake engine with small limits, so fuzzed
// requests stay fast.
func fuzzServer(t testing.TB) http.Handler {
	eng := newFakeEngine()
	eng.maxPos = 64
	o := defaultOptions()
	o.MaxBody = 1 << 16
	o.MaxPrompts = 4
	o.DefaultPrune = "paper"
	o.Pruners = func(name string) (modelPruner, error) {
		if name == "paper" || name == "keep0.8" {
			return testPruner{}, nil
		}
		return nil, errUnknownPreset
	}
	s, err := New(eng, o)
	if err != nil {
		t.Fatal(err)
	}
	return s.Handler()
}

// checkFuzzResponse fails on a status the API never gives, or on an error
// response that is not in OpenAI's shape.
func checkFuzzResponse(t *testing.T, rec *httptest.ResponseRecorder) {
	switch rec.Code {
	case http.StatusOK:
		if ct := rec.Header().Get("Content-Type"); ct == "application/json" && !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("200 with invalid JSON %q", rec.Body.Bytes())
		}
	case http.StatusBadRequest, http.StatusNotFound, http.StatusRequestEntityTooLarge:
		checkErrorShape(t, rec.Body.Bytes())
	default:
		t.Fatalf("status %d: %s", rec.Code, rec.Body.Bytes())
	}
}

// fuzzSeeds are request bodies to start from: lm-eval's payloads, the
// openai clients' shapes, and broken ones.
var fuzzSeeds = []string{
	`{"model":"fake","prompt":[[1,84,107,104,35]],"temperature":0,"max_tokens":1,"logprobs":1,"seed":1234,"echo":true}`,
	`{"prompt":[[1,84,107]],"model":"fake","max_tokens":8,"temperature":0,"stop":["\n\n","</s>"],"seed":1234}`,
	`{"prompt":"Once upon","model":"fake","max_tokens":4,"temperature":0,"stop":["\n\n"],"seed":1234}`,
	`{"prompt":["a","b"],"stream":true,"echo":true,"logprobs":2,"stream_options":{"include_usage":true},"max_tokens":3}`,
	`{"prompt":"x","sdtp":{"prune":"off"},"max_tokens":2,"top_p":0.5,"top_k":3,"temperature":1.5}`,
	`{"messages":[{"role":"user","content":"hi","type":"text"}],"model":"fake","max_tokens":3,"temperature":0,"stop":["\n"],"seed":1234}`,
	`{"messages":[{"role":"system","content":null},{"role":"user","content":[{"type":"text","text":"a"}]}],"stream":true,"logprobs":true,"top_logprobs":2,"max_completion_tokens":2}`,
	`{"prompt":[1,-1]}`, `{"prompt":[[1],[2.5]]}`, `{"prompt":{"a":[]}}`, `[]`, `null`, `{"prompt":"x"`, `{"stop":[1],"prompt":"x"}`,
	`{"prompt":"\u00e9\ud83d","max_tokens":99999}`, `{"prompt":[1e400]}`, `{"tokens":[1,2,3]}`,
}

func FuzzCompletionsBody(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	h := fuzzServer(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, path := range []string{"/v1/completions", "/v1/chat/completions", "/tokenize", "/detokenize"} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body)))
			checkFuzzResponse(t, rec)
		}
	})
}

// FuzzCompletionsFields varies the fields of a valid request with values
// of every JSON type, so the fuzzer reaches past the JSON syntax.
func FuzzCompletionsFields(f *testing.F) {
	f.Add("prompt", `"hi"`, "max_tokens", `2`, false)
	f.Add("prompt", `[[1,2],[3]]`, "logprobs", `3`, true)
	f.Add("messages", `[{"role":"user","content":"x"}]`, "stop", `["a"]`, true)
	f.Add("prompt", `[1,2,3]`, "echo", `true`, false)
	f.Add("prompt", `""`, "sdtp", `{"prune":"keep0.8"}`, false)
	h := fuzzServer(f)
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string, stream bool) {
		if !json.Valid([]byte(v1)) || !json.Valid([]byte(v2)) {
			return
		}
		body := map[string]json.RawMessage{k1: json.RawMessage(v1), k2: json.RawMessage(v2), "stream": json.RawMessage(`false`)}
		if stream {
			body["stream"] = json.RawMessage(`true`)
		}
		data, err := json.Marshal(body)
		if err != nil {
			return
		}
		for _, path := range []string{"/v1/completions", "/v1/chat/completions"} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, bytes.NewReader(data)))
			checkFuzzResponse(t, rec)
		}
	})
}
