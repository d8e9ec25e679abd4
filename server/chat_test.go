package server

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

type chatOutTest struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Choices []struct {
		Index   int `json:"index"`
		Message *struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"message"`
		Delta *struct {
			Role    string  `json:"role"`
			Content *string `json:"content"`
		} `json:"delta"`
		Logprobs *struct {
			Content []struct {
				Token       string  `json:"token"`
				Logprob     float64 `json:"logprob"`
				Bytes       []int   `json:"bytes"`
				TopLogprobs []struct {
					Token   string  `json:"token"`
					Logprob float64 `json:"logprob"`
				} `json:"top_logprobs"`
			} `json:"content"`
		} `json:"logprobs"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
}

// chatPromptIDs is what the server sends the engine for msgs.
func chatPromptIDs(msgs []Message) []int {
	text, _ := chatML(msgs)
	return byteTokenizer{}.Encode(text)
}

func TestChatCompletion(t *testing.T) {
	env := newTestEnv(t, nil, defaultOptions())
	body := map[string]any{
		"model": "fake",
		// lm-eval's local-chat-completions adds "type": "text" to each message.
		"messages": []map[string]any{
			{"role": "system", "content": "Be brief.", "type": "text"},
			{"role": "user", "content": []map[string]string{{"type": "text", "text": "Hi "}, {"type": "text", "text": "there"}}, "type": "text"},
		},
		"max_tokens": 6, "temperature": 0, "stop": []string{"\n\n"}, "seed": 1234, "logprobs": true, "top_logprobs": 2,
	}
	var out chatOutTest
	env.post("/v1/chat/completions", body, http.StatusOK, &out)
	prompt := chatPromptIDs([]Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "Hi there"}})
	want := byteTokenizer{}.Decode(greedyFake(prompt, 6))
	if out.Object != "chat.completion" || !strings.HasPrefix(out.ID, "chatcmpl-") || len(out.Choices) != 1 {
		t.Fatalf("response %+v", out)
	}
	c := out.Choices[0]
	if c.Message == nil || c.Message.Role != "assistant" || c.Message.Content != want || *c.FinishReason != "length" {
		t.Errorf("message %+v finish %v, want %q", c.Message, c.FinishReason, want)
	}
	if c.Logprobs == nil || len(c.Logprobs.Content) != 6 || len(c.Logprobs.Content[0].TopLogprobs) != 2 {
		t.Fatalf("logprobs %+v", c.Logprobs)
	}
	var joined strings.Builder
	for _, lp := range c.Logprobs.Content {
		joined.WriteString(lp.Token)
		if string(bytesOf(lp.Bytes)) != lp.Token || lp.Logprob != lp.TopLogprobs[0].Logprob {
			t.Errorf("token %q: bytes %v, logprob %v vs greedy top %v", lp.Token, lp.Bytes, lp.Logprob, lp.TopLogprobs[0].Logprob)
		}
	}
	if joined.String() != want {
		t.Errorf("logprob tokens join to %q, want %q", joined.String(), want)
	}
	if got := env.eng.requests()[0].Prompt; !slices.Equal(got, prompt) {
		t.Errorf("engine prompt %v, want the rendered template %v", got, prompt)
	}
	if out.Usage == nil || out.Usage.PromptTokens != len(prompt) || out.Usage.CompletionTokens != 6 {
		t.Errorf("usage %+v", out.Usage)
	}
}

func bytesOf(v []int) []byte {
	b := make([]byte, len(v))
	for i, x := range v {
		b[i] = byte(x)
	}
	return b
}

func TestChatDefaultMaxTokensFillsTheContext(t *testing.T) {
	env := newTestEnv(t, nil, defaultOptions())
	env.post("/v1/chat/completions", map[string]any{"messages": []map[string]string{{"role": "user", "content": "x"}}, "temperature": 0}, http.StatusOK, nil)
	env.post("/v1/chat/completions", map[string]any{"messages": []map[string]string{{"role": "user", "content": "x"}}, "max_tokens": 50, "max_completion_tokens": 3}, http.StatusOK, nil)
	reqs := env.eng.requests()
	n := len(chatPromptIDs([]Message{{Role: "user", Content: "x"}}))
	if reqs[0].MaxTokens != env.eng.maxPos-n {
		t.Errorf("max tokens %d, want the rest of the context %d", reqs[0].MaxTokens, env.eng.maxPos-n)
	}
	if reqs[1].MaxTokens != 3 {
		t.Errorf("max_completion_tokens gave %d, want 3", reqs[1].MaxTokens)
	}
}

func TestChatStream(t *testing.T) {
	env := newTestEnv(t, nil, defaultOptions())
	status, _, body := env.do(http.MethodPost, "/v1/chat/completions", map[string]any{"messages": []map[string]string{{"role": "user", "content": "yo"}}, "max_tokens": 7, "temperature": 0, "stream": true, "stream_options": map[string]bool{"include_usage": true}}, nil)
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	events, done := sseEvents(t, body)
	if !done || len(events) < 3 {
		t.Fatalf("%d events, done %v", len(events), done)
	}
	var text strings.Builder
	var finish string
	for i, ev := range events {
		var c chatOutTest
		if err := json.Unmarshal(ev, &c); err != nil {
			t.Fatal(err)
		}
		if c.Object != "chat.completion.chunk" {
			t.Errorf("event %d object %q", i, c.Object)
		}
		if i == len(events)-1 {
			if c.Usage == nil || c.Usage.CompletionTokens != 7 || len(c.Choices) != 0 {
				t.Errorf("last event is not the usage: %s", ev)
			}
			continue
		}
		d := c.Choices[0].Delta
		if i == 0 && d.Role != "assistant" {
			t.Errorf("first delta %s lacks the role", ev)
		}
		if d.Content != nil {
			text.WriteString(*d.Content)
		}
		if fr := c.Choices[0].FinishReason; fr != nil {
			finish = *fr
		}
	}
	want := byteTokenizer{}.Decode(greedyFake(chatPromptIDs([]Message{{Role: "user", Content: "yo"}}), 7))
	if text.String() != want || finish != "length" {
		t.Errorf("streamed %q finish %q, want %q length", text.String(), finish, want)
	}
}
