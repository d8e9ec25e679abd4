package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// served is a Server running Serve on a loopback listener.
type served struct {
	s      *Server
	url    string
	cancel context.CancelFunc
	done   chan error
	logs   *syncBuffer
}

func serve(t *testing.T, eng Engine, o Options) *served {
	t.Helper()
	logs := &syncBuffer{}
	o.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	s, err := New(eng, o)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	sv := &served{s: s, url: "http://" + ln.Addr().String(), cancel: cancel, done: make(chan error, 1), logs: logs}
	go func() { sv.done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		<-sv.done
	})
	return sv
}

// stop ends Serve and returns its error.
func (sv *served) stop(t *testing.T) error {
	t.Helper()
	sv.cancel()
	select {
	case err := <-sv.done:
		sv.done <- err // for the cleanup
		return err
	case <-time.After(time.Minute):
		t.Fatal("Serve did not return within a minute of its context ending")
		return nil
	}
}

// waitFor polls cond until it holds, failing after a generous deadline
// (this is not a timing assertion, only a guard against hanging).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func post(client *http.Client, url, body string) (int, []byte, error) {
	resp, err := client.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

// TestLoad sends 200 requests from 16 concurrent clients: each succeeds or
// gets 429, and afterwards the goroutines return to their idle level and no
// generation is left running.
func TestLoad(t *testing.T) {
	eng := newFakeEngine()
	eng.tokenDelay = 200 * time.Microsecond
	o := defaultOptions()
	o.MaxConcurrent, o.Queue = 2, 8
	sv := serve(t, eng, o)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	// Warm up one connection path, then take the idle level.
	if status, body, err := post(client, sv.url+"/v1/completions", `{"prompt":"w","max_tokens":1}`); err != nil || status != 200 {
		t.Fatalf("warm-up: %d %s %v", status, body, err)
	}
	client.CloseIdleConnections()
	waitFor(t, "the warm-up connection to close", func() bool { return sv.s.adm.n.Load() == 0 })
	time.Sleep(50 * time.Millisecond)
	idle := runtime.NumGoroutine()

	bodies := []struct{ path, body string }{
		{"/v1/completions", `{"model":"fake","prompt":"Hello","max_tokens":8,"temperature":0}`},
		{"/v1/completions", `{"prompt":[[1,2,3],[4,5]],"max_tokens":4,"echo":true,"logprobs":1}`},
		{"/v1/completions", `{"prompt":"stream me","max_tokens":8,"stream":true}`},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"max_tokens":6,"stream":true}`},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"max_tokens":6,"seed":3,"temperature":0.8}`},
	}
	const clients, total = 16, 200
	var mu sync.Mutex
	counts := map[int]int{}
	work := make(chan int)
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				b := bodies[i%len(bodies)]
				status, data, err := post(client, sv.url+b.path, b.body)
				mu.Lock()
				counts[status]++
				mu.Unlock()
				switch {
				case err != nil:
					t.Errorf("request %d: %v", i, err)
				case status == http.StatusOK && strings.Contains(b.body, `"stream":true`) && !strings.HasSuffix(string(data), "data: [DONE]\n\n"):
					t.Errorf("request %d: stream without [DONE]: %q", i, data)
				case status == http.StatusTooManyRequests:
					checkErrorShape(t, data)
				case status != http.StatusOK:
					t.Errorf("request %d: status %d: %s", i, status, data)
				}
			}
		}()
	}
	for i := range total {
		work <- i
	}
	close(work)
	wg.Wait()
	t.Logf("statuses: %v", counts)
	if counts[http.StatusOK]+counts[http.StatusTooManyRequests] != total || counts[http.StatusOK] == 0 {
		t.Errorf("statuses %v: want %d answers, all 200 or 429, some 200", counts, total)
	}
	client.CloseIdleConnections()
	waitFor(t, fmt.Sprintf("goroutines to return to the idle level %d", idle), func() bool { return runtime.NumGoroutine() <= idle })
	if n := eng.active.Load(); n != 0 {
		t.Errorf("%d generations still running", n)
	}
	if n := sv.s.adm.n.Load(); n != 0 {
		t.Errorf("%d requests still hold or wait for a slot", n)
	}
	if err := sv.stop(t); err != nil {
		t.Errorf("Serve: %v", err)
	}
}

// TestGracefulShutdown: once Serve's context ends, new connections are
// refused, and the request in flight still finishes with its full answer.
func TestGracefulShutdown(t *testing.T) {
	eng := newFakeEngine()
	eng.gate = make(chan struct{})
	eng.started = make(chan struct{}, 1)
	sv := serve(t, eng, defaultOptions())
	type result struct {
		status int
		body   []byte
		err    error
	}
	res := make(chan result, 1)
	go func() {
		status, body, err := post(http.DefaultClient, sv.url+"/v1/completions", `{"prompt":"abc","max_tokens":5,"temperature":0}`)
		res <- result{status, body, err}
	}()
	<-eng.started
	sv.cancel()
	waitFor(t, "the listener to close", func() bool {
		c, err := net.Dial("tcp", strings.TrimPrefix(sv.url, "http://"))
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	select {
	case err := <-sv.done:
		t.Fatalf("Serve returned %v with a request in flight", err)
	default:
	}
	close(eng.gate)
	r := <-res
	if r.err != nil || r.status != http.StatusOK {
		t.Fatalf("in-flight request: %d %s %v", r.status, r.body, r.err)
	}
	var out completionOut
	if err := json.Unmarshal(r.body, &out); err != nil || out.Choices[0].Text != (byteTokenizer{}).Decode(greedyFake((byteTokenizer{}).EncodeWithSpecial("abc"), 5)) {
		t.Errorf("in-flight answer %s (%v)", r.body, err)
	}
	if err := <-sv.done; err != nil {
		t.Errorf("Serve: %v", err)
	}
	sv.done <- nil
	if !strings.Contains(sv.logs.String(), "shutting down") {
		t.Errorf("no shutdown log line in %s", sv.logs.String())
	}
}

// TestShutdownTimeoutCancelsWork: requests still running when the shutdown
// timeout expires are cancelled, and Serve returns.
func TestShutdownTimeoutCancelsWork(t *testing.T) {
	eng := newFakeEngine()
	eng.gate = make(chan struct{}) // never opened
	eng.started = make(chan struct{}, 1)
	o := defaultOptions()
	o.ShutdownTimeout = 20 * time.Millisecond
	sv := serve(t, eng, o)
	go post(http.DefaultClient, sv.url+"/v1/completions", `{"prompt":"abc"}`)
	<-eng.started
	if err := sv.stop(t); err != nil {
		t.Errorf("Serve: %v", err)
	}
	waitFor(t, "the generation to be cancelled", func() bool { return eng.active.Load() == 0 })
	if eng.cancelled.Load() != 1 {
		t.Errorf("cancelled %d generations, want 1", eng.cancelled.Load())
	}
}

// TestClientDisconnectCancels: closing the connection mid-stream stops the
// generation.
func TestClientDisconnectCancels(t *testing.T) {
	eng := newFakeEngine()
	eng.tokenDelay = 5 * time.Millisecond
	sv := serve(t, eng, defaultOptions())
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sv.url+"/v1/completions", strings.NewReader(`{"prompt":[1],"max_tokens":250,"stream":true,"ignore_eos":true}`))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "data: ") {
		t.Fatalf("first event %q: %v", line, err)
	}
	cancel()
	resp.Body.Close()
	waitFor(t, "the generation to stop", func() bool { return eng.active.Load() == 0 })
	if eng.cancelled.Load() != 1 {
		t.Errorf("the generation was not cancelled (cancelled %d)", eng.cancelled.Load())
	}
	waitFor(t, "the access log line", func() bool { return strings.Contains(sv.logs.String(), `"client_gone":true`) })
}

func TestAccessLog(t *testing.T) {
	env := newTestEnv(t, nil, defaultOptions())
	env.post("/v1/completions", map[string]any{"prompt": "abc", "max_tokens": 3}, http.StatusOK, nil)
	env.do(http.MethodPost, "/v1/completions", `{"prompt": 5}`, nil)
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(env.logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if m["msg"] == "request" {
			lines = append(lines, m)
		}
	}
	if len(lines) != 2 {
		t.Fatalf("%d request lines: %v", len(lines), lines)
	}
	ok := lines[0]
	if ok["status"] != 200.0 || ok["path"] != "/v1/completions" || ok["prompt_tokens"] != 4.0 || ok["completion_tokens"] != 3.0 || ok["prune"] != "off" {
		t.Errorf("log line %v", ok)
	}
	if _, has := ok["latency_ms"]; !has {
		t.Errorf("log line lacks latency: %v", ok)
	}
	if lines[1]["status"] != 400.0 {
		t.Errorf("log line of a bad request %v", lines[1])
	}
}
