package server

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// guard bounds every raw read of these tests, so that a server that never
// answers fails the test instead of hanging it (not a timing assertion).
const guard = 20 * time.Second

// rawConn opens a loopback connection to sv and writes head to it.
func rawConn(t *testing.T, sv *served, head string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(sv.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(guard))
	if head != "" {
		if _, err := io.WriteString(c, head); err != nil {
			t.Fatal(err)
		}
	}
	return c, bufio.NewReader(c)
}

// readResponse reads one response from br and its body.
func readResponse(t *testing.T, br *bufio.Reader) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no response: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the response body: %v", err)
	}
	return resp, body
}

// slowHead starts a completions request whose body of n bytes has not been sent.
func slowHead(n int, extra string) string {
	return fmt.Sprintf("POST /v1/completions HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n%sContent-Length: %d\r\n\r\n", extra, n)
}

// TestSlowBodyTimesOut: a body that stops arriving gets 408 once the read
// timeout passes, and its connection is closed.
func TestSlowBodyTimesOut(t *testing.T) {
	o := defaultOptions()
	o.ReadTimeout = 100 * time.Millisecond
	sv := serve(t, newFakeEngine(), o)
	c, br := rawConn(t, sv, slowHead(100, "")+`{"prompt":`)
	resp, body := readResponse(t, br)
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("status %d, want 408: %s", resp.StatusCode, body)
	}
	if eb := checkErrorShape(t, body); string(eb.Error.Code) != `"request_timeout"` {
		t.Errorf("error code %s, want request_timeout", eb.Error.Code)
	}
	if n, err := c.Read(make([]byte, 1)); err == nil {
		t.Errorf("the connection stayed open (read %d bytes)", n)
	}
}

// TestReadTimeoutSparesLongRequests: the body deadline is lifted once the
// body is in, so a generation lasting far past it is not cut.
func TestReadTimeoutSparesLongRequests(t *testing.T) {
	eng := newFakeEngine()
	eng.tokenDelay = 10 * time.Millisecond // 30 tokens: at least 300 ms
	o := defaultOptions()
	o.ReadTimeout = 50 * time.Millisecond
	sv := serve(t, eng, o)
	for _, stream := range []bool{false, true} {
		body := fmt.Sprintf(`{"prompt":[1],"max_tokens":30,"ignore_eos":true,"stream":%v}`, stream)
		status, data, err := post(http.DefaultClient, sv.url+"/v1/completions", body)
		if err != nil || status != http.StatusOK {
			t.Fatalf("stream %v: %d %s %v", stream, status, data, err)
		}
		if stream && !strings.HasSuffix(string(data), "data: [DONE]\n\n") {
			t.Errorf("stream cut: %q", data)
		}
	}
	if n := eng.cancelled.Load(); n != 0 {
		t.Errorf("%d generations cancelled", n)
	}
}

// TestAPIKeyCheckedBeforeBody: a request with a wrong key is refused from
// its headers, without waiting for a body that never comes.
func TestAPIKeyCheckedBeforeBody(t *testing.T) {
	o := defaultOptions()
	o.APIKey = "sekrit"
	o.ReadTimeout = time.Hour
	sv := serve(t, newFakeEngine(), o)
	for _, auth := range []string{"", "Authorization: Bearer wrong\r\n"} {
		_, br := rawConn(t, sv, slowHead(1000, auth))
		resp, body := readResponse(t, br)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%q: status %d, want 401: %s", auth, resp.StatusCode, body)
		}
	}
}

// TestConnectionLimit: connections beyond the limit are answered 503 and
// closed; once one closes, requests are served again.
func TestConnectionLimit(t *testing.T) {
	o := defaultOptions()
	o.MaxConnections = 3
	o.ReadTimeout = time.Hour
	sv := serve(t, newFakeEngine(), o)
	var held []net.Conn
	for range 3 {
		c, _ := rawConn(t, sv, "")
		held = append(held, c)
	}
	_, br := rawConn(t, sv, "GET /health HTTP/1.1\r\nHost: test\r\n\r\n")
	resp, body := readResponse(t, br)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("beyond the limit: status %d, Retry-After %q, want 503 with one: %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if eb := checkErrorShape(t, body); string(eb.Error.Code) != `"too_many_connections"` {
		t.Errorf("error code %s, want too_many_connections", eb.Error.Code)
	}
	held[0].Close()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	waitFor(t, "/health to answer 200 once a connection closed", func() bool {
		resp, err := client.Get(sv.url + "/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// TestSlowClientFlood: 24 clients trickle bodies at a server allowing 8
// connections; each gets 408 or 503, and the server answers afterwards.
func TestSlowClientFlood(t *testing.T) {
	o := defaultOptions()
	o.MaxConnections = 8
	o.ReadTimeout = 200 * time.Millisecond
	sv := serve(t, newFakeEngine(), o)
	const clients = 24
	var mu sync.Mutex
	counts := map[int]int{}
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", strings.TrimPrefix(sv.url, "http://"))
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(guard))
			io.WriteString(c, slowHead(100, "")+"{")
			status := 0
			if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil {
				status = resp.StatusCode
				resp.Body.Close()
			}
			mu.Lock()
			counts[status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if counts[http.StatusRequestTimeout]+counts[http.StatusServiceUnavailable] != clients || counts[http.StatusRequestTimeout] == 0 {
		t.Errorf("statuses %v: want all %d 408 or 503, some 408", counts, clients)
	}
	status, body, err := post(http.DefaultClient, sv.url+"/v1/completions", `{"prompt":"ok","max_tokens":2}`)
	if err != nil || status != http.StatusOK {
		t.Errorf("after the flood: %d %s %v", status, body, err)
	}
}

// countingTokenizer is byteTokenizer counting the texts it encodes; when
// hold is not nil, encoding the text "hold" signals entered and waits for hold.
type countingTokenizer struct {
	byteTokenizer
	encoded atomic.Int64
	entered chan struct{}
	hold    chan struct{}
}

func (c *countingTokenizer) count(text string) {
	c.encoded.Add(1)
	if c.hold != nil && text == "hold" {
		c.entered <- struct{}{}
		<-c.hold
	}
}

func (c *countingTokenizer) Encode(text string) []int {
	c.count(text)
	return c.byteTokenizer.Encode(text)
}

func (c *countingTokenizer) EncodeWithSpecial(text string) []int {
	c.count(text)
	return c.byteTokenizer.EncodeWithSpecial(text)
}

// postAsync posts body to path in the background; the channel gets the
// status (0 when the request failed).
func postAsync(env *testEnv, path, body string) <-chan int {
	done := make(chan int, 1)
	go func() {
		status, _, _ := post(env.srv.Client(), env.srv.URL+path, body)
		done <- status
	}()
	return done
}

// TestLongTextRefusedBeforeTokenizing: a text with more bytes than the
// context can hold tokens of MaxTokenBytes is refused without encoding it.
func TestLongTextRefusedBeforeTokenizing(t *testing.T) {
	tok := &countingTokenizer{}
	o := defaultOptions()
	o.Tokenizer = tok
	env := newTestEnv(t, nil, o) // 256 positions, 1 byte a token
	long := strings.Repeat("x", 300)
	for _, req := range []struct {
		path string
		body any
	}{
		{"/v1/completions", map[string]any{"prompt": long, "max_tokens": 1}},
		{"/v1/completions", map[string]any{"prompt": []string{"short", long}}},
		{"/v1/chat/completions", map[string]any{"messages": []map[string]string{{"role": "user", "content": long}}}},
	} {
		data := env.post(req.path, req.body, http.StatusBadRequest, nil)
		if eb := checkErrorShape(t, data); string(eb.Error.Code) != `"context_length_exceeded"` || !strings.Contains(eb.Error.Message, "has at least ") {
			t.Errorf("%s: error %s", req.path, data)
		}
	}
	if n := tok.encoded.Load(); n != 0 {
		t.Errorf("%d texts were tokenized", n)
	}
	// A text the bound lets through is tokenized and checked exactly.
	env.post("/v1/completions", map[string]any{"prompt": strings.Repeat("x", 250), "max_tokens": 1}, http.StatusOK, nil)
	data := env.post("/v1/completions", map[string]any{"prompt": strings.Repeat("x", 255), "max_tokens": 1}, http.StatusBadRequest, nil)
	if !strings.Contains(string(data), "prompt 0 has 256 tokens and max_tokens asks for 1 more") {
		t.Errorf("exact check after tokenizing: %s", data)
	}
}

// TestTokenizedUnderAdmission: text prompts are tokenized only once a
// request holds a generation slot; one turned away is never tokenized.
func TestTokenizedUnderAdmission(t *testing.T) {
	tok := &countingTokenizer{}
	eng := newFakeEngine()
	eng.gate = make(chan struct{})
	eng.started = make(chan struct{}, 1)
	o := defaultOptions()
	o.Tokenizer = tok
	o.MaxConcurrent, o.Queue = 1, -1
	env := newTestEnv(t, eng, o)
	done := postAsync(env, "/v1/completions", `{"prompt":[1,2],"max_tokens":1}`)
	<-eng.started
	for _, req := range []struct{ path, body string }{
		{"/v1/completions", `{"prompt":"abc","max_tokens":1}`},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"abc"}],"max_tokens":1}`},
	} {
		if status, _, data := env.do(http.MethodPost, req.path, req.body, nil); status != http.StatusTooManyRequests {
			t.Errorf("%s with the slot taken: %d %s, want 429", req.path, status, data)
		}
	}
	if n := tok.encoded.Load(); n != 0 {
		t.Errorf("%d texts were tokenized by requests turned away", n)
	}
	close(eng.gate)
	if status := <-done; status != http.StatusOK {
		t.Errorf("the request holding the slot: %d", status)
	}
}

// TestTokenizeEndpointBounded: /tokenize runs at most MaxConcurrent
// encodings at once (plus Queue waiting); the rest get 429.
func TestTokenizeEndpointBounded(t *testing.T) {
	tok := &countingTokenizer{entered: make(chan struct{}), hold: make(chan struct{})}
	o := defaultOptions()
	o.Tokenizer = tok
	o.MaxConcurrent, o.Queue = 1, -1
	env := newTestEnv(t, nil, o)
	done := postAsync(env, "/tokenize", `{"prompt":"hold"}`)
	<-tok.entered
	if status, _, data := env.do(http.MethodPost, "/tokenize", `{"prompt":"abc"}`, nil); status != http.StatusTooManyRequests {
		t.Errorf("a second /tokenize while one runs: %d %s, want 429", status, data)
	}
	close(tok.hold)
	if status := <-done; status != http.StatusOK {
		t.Errorf("the /tokenize holding the slot: %d", status)
	}
	env.post("/tokenize", map[string]any{"prompt": "abc"}, http.StatusOK, nil)
}
