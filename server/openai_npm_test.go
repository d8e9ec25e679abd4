package server

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sdtp/sdtp/generate"
)

// jsclientDir returns a folder outside the repository holding
// jsclient/client.mjs and the openai package pinned in
// jsclient/package.json, installing it with npm on first use. It skips
// the test when node or npm is missing or the install fails (no network).
func jsclientDir(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found: skipping the openai npm package test", tool)
		}
	}
	pkg, err := os.ReadFile(filepath.Join("jsclient", "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	if err := json.Unmarshal(pkg, &meta); err != nil || meta.Dependencies["openai"] == "" {
		t.Fatalf("jsclient/package.json: no pinned openai version (%v)", err)
	}
	version := meta.Dependencies["openai"]
	base := os.Getenv("SDTP_NPM_CACHE")
	if base == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			t.Skipf("no user cache folder for the npm install: %v", err)
		}
		base = filepath.Join(cache, "sdtp", "npm")
	}
	dir := filepath.Join(base, "openai-"+version)
	installed := filepath.Join(dir, "node_modules", "openai", "package.json")
	if _, err := os.Stat(installed); err != nil {
		// Install into a fresh folder and rename it into place, so that
		// concurrent test runs never see a half-installed package.
		if err := os.MkdirAll(base, 0o755); err != nil {
			t.Skipf("npm cache folder: %v", err)
		}
		tmp, err := os.MkdirTemp(base, "install-")
		if err != nil {
			t.Skipf("npm cache folder: %v", err)
		}
		defer os.RemoveAll(tmp)
		if err := os.WriteFile(filepath.Join(tmp, "package.json"), pkg, 0o644); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "npm", "install", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error")
		cmd.Dir = tmp
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Skipf("npm install openai@%s failed (offline?): %v\n%s", version, err, out)
		}
		if err := os.Rename(tmp, dir); err != nil {
			if _, statErr := os.Stat(installed); statErr != nil {
				t.Fatalf("moving the npm install into place: %v", err)
			}
		}
	}
	script, err := os.ReadFile(filepath.Join("jsclient", "client.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	// A per-test copy of the script beside node_modules, so its import resolves.
	name := filepath.Join(dir, "client-"+newID()+".mjs")
	if err := os.WriteFile(name, script, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(name) })
	return name
}

// jsOutput is what jsclient/client.mjs prints.
type jsOutput struct {
	Models     []string `json:"models"`
	Completion struct {
		Text         string `json:"text"`
		FinishReason string `json:"finish_reason"`
		Usage        struct {
			PromptTokens     int `json:"prompt_tokens"`
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
	} `json:"completion"`
	CompletionStream struct {
		Text         string `json:"text"`
		FinishReason string `json:"finish_reason"`
	} `json:"completion_stream"`
	Echo struct {
		Text          string               `json:"text"`
		Tokens        []string             `json:"tokens"`
		TokenLogprobs []*float64           `json:"token_logprobs"`
		TopLogprobs   []map[string]float64 `json:"top_logprobs"`
		TextOffset    []int                `json:"text_offset"`
	} `json:"echo"`
	Chat struct {
		Content      string `json:"content"`
		FinishReason string `json:"finish_reason"`
	} `json:"chat"`
	ChatStream struct {
		Content string `json:"content"`
		Usage   *struct {
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
	} `json:"chat_stream"`
	Errors map[string]*struct {
		Name   string  `json:"name"`
		Status int     `json:"status"`
		Type   *string `json:"type"`
		Param  *string `json:"param"`
		Code   *string `json:"code"`
	} `json:"errors"`
}

// TestOpenAINpmClient drives a live server on loopback with the official
// openai npm package: completions, streaming, echo + logprobs, chat, and
// typed errors; the answers are checked against the engine run directly.
func TestOpenAINpmClient(t *testing.T) {
	rm := stories260K(t)
	script := jsclientDir(t)
	o := Options{ModelName: "stories260K", Tokenizer: rm.tok, Chat: chatML, APIKey: "test-key"}
	eng := &ModelEngine{Model: rm.m, StopIDs: rm.stopIDs()}
	s, err := New(eng, o)
	if err != nil {
		t.Fatal(err)
	}
	srv := newLoopbackServer(t, s.Handler())

	prompt, chatMsg := "Once upon a time", "Tell me a story."
	promptIDs := rm.tok.Encode("The little dog ran to the park")
	idsJSON, _ := json.Marshal(promptIDs)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", script)
	cmd.Env = append(os.Environ(), "BASE_URL="+srv.URL, "API_KEY=test-key", "MODEL=stories260K", "PROMPT="+prompt, "PROMPT_IDS="+string(idsJSON), "CHAT="+chatMsg)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node client: %v\nstderr:\n%s", err, stderr.String())
	}
	var out jsOutput
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("client output %q: %v", stdout.String(), err)
	}

	direct := func(ids []int, maxTokens int) *generate.Result {
		res, err := generate.Run(context.Background(), rm.m, rm.tok, generate.Request{Prompt: ids, MaxTokens: maxTokens, StopIDs: eng.StopIDs, Logprobs: true, PromptLogprobs: true, TopLogprobs: 1})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if len(out.Models) != 1 || out.Models[0] != "stories260K" {
		t.Errorf("models %v", out.Models)
	}
	want := direct(rm.tok.EncodeWithSpecial(prompt), 12)
	if out.Completion.Text != want.Text || out.Completion.FinishReason != want.FinishReason || out.Completion.Usage.CompletionTokens != len(want.Tokens) {
		t.Errorf("completion %+v, want %q (%s)", out.Completion, want.Text, want.FinishReason)
	}
	if out.CompletionStream.Text != want.Text || out.CompletionStream.FinishReason != want.FinishReason {
		t.Errorf("streamed completion %+v, want %q", out.CompletionStream, want.Text)
	}

	we := direct(promptIDs, 1)
	e := out.Echo
	if len(e.TokenLogprobs) != len(promptIDs)+1 || e.Text != rm.tok.Decode(promptIDs)+we.Text || strings.Join(e.Tokens, "") != e.Text {
		t.Fatalf("echo %+v", e)
	}
	all := append(append([]generate.Token(nil), we.PromptLogprobs...), we.Tokens...)
	for i := 1; i < len(all); i++ {
		if e.TokenLogprobs[i] == nil || math.Abs(*e.TokenLogprobs[i]-all[i].Logprob) > 1e-12 || len(e.TopLogprobs[i]) != 1 {
			t.Errorf("echo token %d: logprob %v top %v, want %v", i, e.TokenLogprobs[i], e.TopLogprobs[i], all[i].Logprob)
		}
	}

	text, _ := chatML([]Message{{Role: "user", Content: chatMsg}})
	wc := direct(rm.tok.Encode(text), 10)
	if out.Chat.Content != wc.Text || out.Chat.FinishReason != wc.FinishReason {
		t.Errorf("chat %+v, want %q (%s)", out.Chat, wc.Text, wc.FinishReason)
	}
	if out.ChatStream.Content != wc.Text || out.ChatStream.Usage == nil || out.ChatStream.Usage.CompletionTokens != len(wc.Tokens) {
		t.Errorf("streamed chat %+v, want %q", out.ChatStream, wc.Text)
	}

	for name, want := range map[string]struct {
		class  string
		status int
	}{
		"wrong_key":     {"AuthenticationError", 401},
		"unknown_model": {"NotFoundError", 404},
		"bad_param":     {"BadRequestError", 400},
	} {
		got := out.Errors[name]
		if got == nil || got.Name != want.class || got.Status != want.status {
			t.Errorf("error %s: got %+v, want %s %d", name, got, want.class, want.status)
		}
	}
	if p := out.Errors["bad_param"]; p != nil && (p.Param == nil || *p.Param != "temperature") {
		t.Errorf("bad_param error names param %v, want temperature", p.Param)
	}
}
