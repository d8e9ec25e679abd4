package server

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// TestShutdownTimeoutAnswersEveryone: when the shutdown timeout expires,
// a running stream ends with an error event and [DONE], and queued
// requests, streamed or not, get 503.
func TestShutdownTimeoutAnswersEveryone(t *testing.T) {
	eng := newFakeEngine()
	eng.gate = make(chan struct{}) // never opened
	eng.started = make(chan struct{}, 1)
	o := defaultOptions()
	o.MaxConcurrent, o.Queue = 1, 4
	o.ShutdownTimeout = 50 * time.Millisecond
	sv := serve(t, eng, o)
	type result struct {
		status int
		body   []byte
		err    error
	}
	send := func(path, body string) chan result {
		c := make(chan result, 1)
		go func() {
			status, data, err := post(http.DefaultClient, sv.url+path, body)
			c <- result{status, data, err}
		}()
		return c
	}
	running := send("/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"stream":true}`)
	<-eng.started
	queued := []chan result{
		send("/v1/completions", `{"prompt":"abc","stream":true}`),
		send("/v1/completions", `{"prompt":"abc"}`),
	}
	waitFor(t, "two requests to queue", func() bool { _, waiting := sv.s.adm.load(); return waiting == 2 })
	if err := sv.stop(t); err != nil {
		t.Fatalf("Serve: %v", err)
	}

	r := <-running
	if r.err != nil || r.status != http.StatusOK {
		t.Fatalf("running stream: %d %v", r.status, r.err)
	}
	events, done := sseEvents(t, r.body)
	if !done || len(events) < 2 {
		t.Fatalf("running stream: %d events, [DONE] %v: %s", len(events), done, r.body)
	}
	var last struct {
		Error *struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(events[len(events)-1], &last); err != nil || last.Error == nil || last.Error.Code != "server_shutting_down" {
		t.Errorf("running stream: last event %s, want an error server_shutting_down (%v)", events[len(events)-1], err)
	}
	for i, c := range queued {
		r := <-c
		if r.err != nil || r.status != http.StatusServiceUnavailable {
			t.Errorf("queued request %d: %d %s %v, want 503", i, r.status, r.body, r.err)
			continue
		}
		if eb := checkErrorShape(t, r.body); string(eb.Error.Code) != `"server_shutting_down"` {
			t.Errorf("queued request %d: error %s", i, r.body)
		}
	}
}
