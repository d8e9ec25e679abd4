package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sdtp/sdtp/internal/syncbuf"
	"github.com/sdtp/sdtp/internal/testmodel"
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
		{[]string{"serve", "--model", "synthetic:tiny", "--score-tail", "-2"}, "--score-tail -2 must not be negative"},
		{[]string{"serve", "--model", "synthetic:tiny", "--addr", "nonsense"}, "--addr"},
		{[]string{"serve", "--model", "synthetic:tiny", "--max-batch", "0"}, "--max-batch 0 must be at least 1"},
		{[]string{"serve", "--model", "synthetic:tiny", "--max-batch", "2", "--kv-budget", "lots"}, "--kv-budget"},
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
	ckpt, tok := testmodel.Stories260KFiles(t)
	url, stop := startServe(t, "--backend", "cpu", "--model", ckpt, "--tokenizer", tok)
	status, body := postJSON(t, url+"/v1/completions", `{"model":"stories260K","prompt":"Once upon a time","max_tokens":5}`)
	if status != 200 || !strings.Contains(body, `"completion_tokens":5`) {
		t.Fatalf("completion: %d %s", status, body)
	}
	stop()
}

// TestServeMaxBatch: with --max-batch the command serves through the
// batching engine (its log says so) and answers concurrent requests.
func TestServeMaxBatch(t *testing.T) {
	url, stop := startServe(t, "--backend", "cpu", "--model", "synthetic:tiny", "--max-batch", "4", "--kv-budget", "64MiB")
	errs := make(chan error, 4)
	for i := range 4 {
		go func() {
			status, body := postJSON(t, url+"/v1/completions", fmt.Sprintf(`{"prompt":[[5,6,%d]],"max_tokens":6,"temperature":0}`, 7+i))
			if status != 200 || !strings.Contains(body, `"completion_tokens":6`) {
				errs <- fmt.Errorf("completion %d: %d %s", i, status, body)
				return
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if logs := stop(); !strings.Contains(logs, "continuous batching") || !strings.Contains(logs, "kv_budget_bytes=67108864") {
		t.Errorf("the log does not describe the batch: %s", logs)
	}
}

// startServe runs 'sdtp serve' with args on a free loopback port until
// stop, which cancels it as SIGTERM would, checks that it exits 0 and
// returns its log.
func startServe(t *testing.T, args ...string) (url string, stop func() string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	errb := &syncbuf.Buffer{} // the server logs from several goroutines
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: errb}
	done := make(chan int, 1)
	go func() {
		done <- runMain(ctx, e, append([]string{"serve", "--addr", addr}, args...))
	}()
	url = "http://" + addr
	for i := 0; i < 100; i++ {
		var resp *http.Response
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
	return url, func() string {
		t.Helper()
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Fatalf("serve exited %d: %s", code, errb.String())
			}
		case <-time.After(10 * time.Second):
			t.Fatal("serve did not stop after cancellation")
		}
		return errb.String()
	}
}

// postJSON posts body to url and returns the status and the answer.
func postJSON(t *testing.T, url, body string) (int, string) {
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Error(err)
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServeSecondSignalExits: after a first SIGINT the server waits for a
// request in flight (here a body that never comes, under long timeouts);
// a second SIGINT ends the process at once, with exit code 130.
func TestServeSecondSignalExits(t *testing.T) {
	if os.Getenv("SERVE_SIGNAL_CHILD") != "" {
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestServeSignalChild$")
	cmd.Env = append(os.Environ(), "SERVE_SIGNAL_CHILD=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	lines := make(chan map[string]any, 16)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				lines <- m
			}
		}
		close(lines)
		exited <- cmd.Wait()
	}()
	defer cmd.Process.Kill()
	waitLog := func(msg string) map[string]any {
		t.Helper()
		timeout := time.After(30 * time.Second)
		for {
			select {
			case m, ok := <-lines:
				if !ok {
					t.Fatalf("the server exited before logging %q", msg)
				}
				if m["msg"] == msg {
					return m
				}
			case <-timeout:
				t.Fatalf("no %q log line in 30 s", msg)
			}
		}
	}
	addr, _ := waitLog("serving")["addr"].(string)

	// A request whose handler waits for its body: the 100 Continue shows
	// the handler is reading it.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprint(c, "POST /v1/completions HTTP/1.1\r\nHost: test\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n")
	if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || !strings.Contains(line, "100 Continue") {
		t.Fatalf("no 100 Continue: %q %v", line, err)
	}

	cmd.Process.Signal(os.Interrupt)
	waitLog("shutting down: finishing in-flight requests")
	cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-exited:
		if code := cmd.ProcessState.ExitCode(); code != 130 {
			t.Errorf("the server ended with %v (exit code %d), want 130 after a second SIGINT", err, code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the server still runs 30 s after a second SIGINT")
	}
}

// TestServeSignalChild runs sdtp serve with main's signal handling, as the
// child of TestServeSecondSignalExits.
func TestServeSignalChild(t *testing.T) {
	if os.Getenv("SERVE_SIGNAL_CHILD") == "" {
		t.Skip("only run as the child of TestServeSecondSignalExits")
	}
	ctx, stop := signalContext(os.Stderr)
	defer stop()
	args := []string{"serve", "--backend", "cpu", "--model", "synthetic:tiny", "--addr", "127.0.0.1:0", "--log-format", "json", "--read-timeout", "10m", "--shutdown-timeout", "10m"}
	os.Exit(runMain(ctx, &env{stdin: strings.NewReader(""), stdout: os.Stdout, stderr: os.Stderr, argv: args}, args))
}
