package chat

import (
	"strings"
	"testing"
)

var (
	sys   = Message{"system", "Be brief."}
	user1 = Message{"user", " Hello \n"}
	asst1 = Message{"assistant", "Hi there"}
	user2 = Message{"user", "Who are you?"}
)

// TestRender pins renderings worked out by hand from each template's Jinja
// source (in known.go), following its statements in order.
func TestRender(t *testing.T) {
	mustName := func(n string) Template {
		tm, err := ByName(n)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	for _, c := range []struct {
		name string
		tmpl Template
		msgs []Message
		gen  bool
		want string
	}{
		// Qwen2: no system message, so loop.first emits the default system
		// turn; each message is '<|im_start|>' + role + '\n' + content +
		// '<|im_end|>' + '\n' (content untouched); then the generation prompt.
		{"qwen2 default system", mustName("chatml"), []Message{user1}, true,
			"<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n Hello \n<|im_end|>\n<|im_start|>assistant\n"},
		// Qwen2 with a system message: no default, no generation prompt.
		{"qwen2 system", mustName("chatml"), []Message{sys, user1, asst1}, false,
			"<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n Hello \n<|im_end|>\n<|im_start|>assistant\nHi there<|im_end|>\n"},
		// Qwen2 with no messages: the loop never runs, only the prompt.
		{"qwen2 empty", mustName("chatml"), nil, true, "<|im_start|>assistant\n"},
		// Qwen2.5: the tools-free branch writes the default system turn
		// (Qwen's), then every user/assistant turn.
		{"qwen2.5 default system", mustName("qwen2.5"), []Message{user1}, true,
			"<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\n Hello \n<|im_end|>\n<|im_start|>assistant\n"},
		// Qwen2.5: the first system message is written once, before the loop
		// (the loop skips it: role system and loop.first).
		{"qwen2.5 system", mustName("qwen2.5"), []Message{sys, user2}, false,
			"<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWho are you?<|im_end|>\n"},
		// Qwen2.5: consecutive tool turns share one user turn.
		{"qwen2.5 tools", mustName("qwen2.5"), []Message{sys, user2, {"tool", "a"}, {"tool", "b"}}, false,
			"<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWho are you?<|im_end|>\n<|im_start|>user\n<tool_response>\na\n</tool_response>\n<tool_response>\nb\n</tool_response><|im_end|>\n"},
		// Llama-2: the system message joins the first user message as
		// '<<SYS>>\n' + system + '\n<</SYS>>\n\n' + content, the whole
		// stripped; bos + '[INST] ' + ... + ' [/INST]'; the assistant turn is
		// ' ' + stripped content + ' ' + eos; the second user turn has its
		// own bos. No generation prompt exists.
		{"llama2", mustName("llama2"), []Message{sys, user1, asst1, user2}, true,
			"<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\n Hello [/INST] Hi there </s><s>[INST] Who are you? [/INST]"},
		{"llama2 no system", mustName("llama2"), []Message{user1}, false, "<s>[INST] Hello [/INST]"},
		// Mistral (current v0.1/v0.2): bos, then ' [INST] ' + system +
		// '\n\n' + content + ' [/INST]' for the first user turn, ' ' +
		// content + eos for the assistant; content is not stripped.
		{"mistral", mustName("mistral"), []Message{sys, user1, asst1, user2}, true,
			"<s> [INST] Be brief.\n\n Hello \n [/INST] Hi there</s> [INST] Who are you? [/INST]"},
		// Mistral v0.1 first release: '[INST] ' + content + ' [/INST]',
		// content + eos + ' '.
		{"mistral-v0.1", mustName("mistral-v0.1"), []Message{user2, asst1, user2}, false,
			"<s>[INST] Who are you? [/INST]Hi there</s> [INST] Who are you? [/INST]"},
		// Mixtral: the same without the space after eos.
		{"mixtral", mustName("mixtral"), []Message{user2, asst1, user2}, false,
			"<s>[INST] Who are you? [/INST]Hi there</s>[INST] Who are you? [/INST]"},
		// Llama-3: bos before the first header, content trimmed, each turn
		// ends with <|eot_id|>; the assistant header as generation prompt.
		{"llama3", mustName("llama3"), []Message{sys, user1}, true,
			"<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"},
		{"llama3 no prompt", mustName("llama3"), []Message{user2}, false,
			"<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWho are you?<|eot_id|>"},
	} {
		got, err := c.tmpl.Render(c.msgs, c.gen)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
}

// TestRenderErrors checks the raise_exception branches of the templates.
func TestRenderErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		msgs []Message
		want string
	}{
		{"llama2", []Message{user1, user2}, "must alternate"},
		{"llama2", nil, "at least one message"},
		{"mistral", []Message{asst1}, "must alternate"},
		{"mistral", []Message{user1, {"tool", "x"}}, "Only user and assistant"},
		{"mistral-v0.1", []Message{sys, user1}, "must alternate"},
		{"qwen2.5", nil, "at least one message"},
	} {
		tm, err := ByName(c.name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tm.Render(c.msgs, true); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %v: err = %v, want %q", c.name, c.msgs, err, c.want)
		}
	}
}

func TestByName(t *testing.T) {
	for _, n := range Names() {
		tm, err := ByName(n)
		if err != nil || tm.Name() != n {
			t.Errorf("ByName(%q) = %v, %v", n, tm, err)
		}
	}
	if _, err := ByName("vicuna"); err == nil || !strings.Contains(err.Error(), "chatml") {
		t.Errorf("unknown name: err = %v", err)
	}
}

func TestPyStrip(t *testing.T) {
	// Python's str.strip() removes U+001C..U+001F and NEL but not ZWSP.
	if got := pyStrip("\x1c\u0085 a b\u3000\u200b"); got != "a b\u3000\u200b" {
		t.Errorf("pyStrip = %q", got)
	}
	if got := pyStrip("\x1f\u2028x\u00a0"); got != "x" {
		t.Errorf("pyStrip = %q", got)
	}
}
