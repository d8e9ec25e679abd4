package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sdtp/sdtp/internal/testdata"
)

func TestServeFlagErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--model", "synthetic:tiny", "--max-concurrent", "0"}, "--max-concurrent"},
		{[]string{"serve", "--model", "synthetic:tiny", "--queue", "-1"}, "--queue"},
		{[]string{"serve", "--model", "synthetic:tiny", "--log-format", "xml"}, "--log-format"},
		{[]string{"serve", "--model", "synthetic:tiny", "--read-timeout", "0s"}, "--read-timeout 0s must be positive"},
		{[]string{"serve", "--model", "synthetic:tiny", "--max-connections", "0"}, "--max-connections 0 must be at least 1"},
		{[]string{"serve", "--model", "synthetic:tiny", "--addr", "nonsense"}, "--addr"},
		{[]string{"serve"}, "--model"},
	}
	for _, tc := range tests {
		code, _, errOut := run(t, tc.args...)
		if code == 0 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want it to mention %q", tc.args, code, errOut, tc.want)
		}
	}
}

// TestServeAnswersAndStops starts the command on a free loopback port,
// asks for a completion, then cancels it like SIGTERM would.
func TestServeAnswersAndStops(t *testing.T) {
	ckpt := testdata.Path(t, "llama2c/stories260K.bin")
	tok := testdata.Path(t, "llama2c/tok512.bin")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb}
	done := make(chan int, 1)
	go func() {
		done <- runMain(ctx, e, []string{"serve", "--backend", "cpu", "--model", ckpt, "--tokenizer", tok, "--addr", addr})
	}()
	url := "http://" + addr
	var resp *http.Response
	for i := 0; i < 100; i++ {
		if resp, err = http.Get(url + "/health"); err == nil {
			resp.Body.Close()
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		cancel()
		t.Fatalf("server did not come up: %v (%s)", err, errb.String())
	}
	resp, err = http.Post(url+"/v1/completions", "application/json", strings.NewReader(`{"model":"stories260K","prompt":"Once upon a time","max_tokens":5}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"completion_tokens":5`) {
		t.Fatalf("completion: %d %s", resp.StatusCode, body)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exited %d: %s", code, errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop after cancellation")
	}
}
