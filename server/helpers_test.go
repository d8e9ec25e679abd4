package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sdtp/sdtp/internal/syncbuf"
)

// chatML renders messages in the ChatML layout (a test template).
func chatML(msgs []Message) (string, error) {
	var b strings.Builder
	for _, m := range msgs {
		b.WriteString("<|im_start|>" + m.Role + "\n" + m.Content + "<|im_end|>\n")
	}
	b.WriteString("<|im_start|>assistant\n")
	return b.String(), nil
}

// syncBuffer is a bytes.Buffer safe for concurrent writers (log output).
type syncBuffer = syncbuf.Buffer

type testEnv struct {
	t    *testing.T
	eng  *fakeEngine
	s    *Server
	srv  *httptest.Server
	logs *syncBuffer
}

// defaultOptions are the options tests start from.
func defaultOptions() Options {
	return Options{ModelName: "fake", Tokenizer: byteTokenizer{}, Chat: chatML, ChatTemplate: "{{ chatml }}"}
}

// newTestEnv serves a fake engine on a loopback httptest server.
func newTestEnv(t *testing.T, eng *fakeEngine, o Options) *testEnv {
	t.Helper()
	if eng == nil {
		eng = newFakeEngine()
	}
	logs := &syncBuffer{}
	o.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	s, err := New(eng, o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &testEnv{t: t, eng: eng, s: s, srv: srv, logs: logs}
}

// do sends a request with a JSON (or raw string/bytes) body and returns the
// status and body.
func (e *testEnv) do(method, path string, body any, header map[string]string) (int, http.Header, []byte) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, data
}

// post sends a POST and fails the test unless the status is want; it
// decodes the body into out when out is not nil.
func (e *testEnv) post(path string, body any, want int, out any) []byte {
	e.t.Helper()
	status, _, data := e.do(http.MethodPost, path, body, nil)
	if status != want {
		e.t.Fatalf("POST %s: status %d, want %d; body %s", path, status, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			e.t.Fatalf("POST %s: decoding %s: %v", path, data, err)
		}
	}
	return data
}

// errorBody is the OpenAI error shape, with param and code kept as raw
// JSON so tests can tell null from absent.
type errorBody struct {
	Error *struct {
		Message string          `json:"message"`
		Type    string          `json:"type"`
		Param   json.RawMessage `json:"param"`
		Code    json.RawMessage `json:"code"`
	} `json:"error"`
}

// checkErrorShape fails unless data is an OpenAI error object with every
// field present, and returns it.
func checkErrorShape(t testing.TB, data []byte) errorBody {
	t.Helper()
	var raw map[string]map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatalf("error body %q is not a JSON object of objects: %v", data, err)
	}
	for _, f := range []string{"message", "type", "param", "code"} {
		if _, ok := raw["error"][f]; !ok {
			t.Fatalf("error body %s lacks error.%s", data, f)
		}
	}
	var eb errorBody
	if err := json.Unmarshal(data, &eb); err != nil || eb.Error.Message == "" || eb.Error.Type == "" {
		t.Fatalf("error body %s: bad message or type (%v)", data, err)
	}
	return eb
}

// sseEvents reads a server-sent event stream: the data of each event, and
// whether it ended with [DONE].
func sseEvents(t testing.TB, body []byte) (events []json.RawMessage, done bool) {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			t.Fatalf("stream line %q is not a data line", line)
		}
		if done {
			t.Fatalf("event %q after [DONE]", data)
		}
		if data == "[DONE]" {
			done = true
			continue
		}
		events = append(events, json.RawMessage(data))
	}
	return events, done
}

// greedyFake returns the tokens the fake engine's greedy decoding produces
// after prompt, n of them, computed from its logits.
func greedyFake(prompt []int, n int) []int {
	prev := prompt[len(prompt)-1]
	var out []int
	for range n {
		l := fakeLogits(prev)
		best := 0
		for j, v := range l {
			if v > l[best] {
				best = j
			}
		}
		out = append(out, best)
		prev = best
	}
	return out
}

// newLoopbackServer serves h on 127.0.0.1 for the test's lifetime.
func newLoopbackServer(t *testing.T, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}
