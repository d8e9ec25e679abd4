package chat

import (
	"fmt"
	"strings"
)

const (
	qwen2DefaultSystem  = "You are a helpful assistant."
	qwen25DefaultSystem = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
)

// chatML is the Qwen2-Instruct template: a default system turn when the
// conversation does not open with one (none when defaultSystem is ""),
// then "<|im_start|>ROLE\nCONTENT<|im_end|>\n" for every message.
type chatML struct {
	name          string
	defaultSystem string
}

func (t chatML) Name() string { return t.name }

func (t chatML) Render(msgs []Message, addGenerationPrompt bool) (string, error) {
	var b strings.Builder
	for i, m := range msgs {
		if i == 0 && t.defaultSystem != "" && msgs[0].Role != "system" {
			b.WriteString("<|im_start|>system\n" + t.defaultSystem + "<|im_end|>\n")
		}
		b.WriteString("<|im_start|>" + m.Role + "\n" + m.Content + "<|im_end|>\n")
	}
	if addGenerationPrompt {
		b.WriteString("<|im_start|>assistant\n")
	}
	return b.String(), nil
}

// qwen25 is the Qwen2.5-Instruct template without tools: the system turn
// (or the default one) first, then user, later system and assistant turns,
// and consecutive "tool" turns folded into one user turn of
// <tool_response> blocks. Other roles render nothing, as in the template.
type qwen25 struct{}

func (qwen25) Name() string { return "qwen2.5" }

func (qwen25) Render(msgs []Message, addGenerationPrompt bool) (string, error) {
	if len(msgs) == 0 {
		return "", errNoMessages
	}
	var b strings.Builder
	if msgs[0].Role == "system" {
		b.WriteString("<|im_start|>system\n" + msgs[0].Content + "<|im_end|>\n")
	} else {
		b.WriteString("<|im_start|>system\n" + qwen25DefaultSystem + "<|im_end|>\n")
	}
	for i, m := range msgs {
		switch {
		case m.Role == "user" || (m.Role == "system" && i > 0) || m.Role == "assistant":
			b.WriteString("<|im_start|>" + m.Role + "\n" + m.Content + "<|im_end|>\n")
		case m.Role == "tool":
			if i == 0 || msgs[i-1].Role != "tool" {
				b.WriteString("<|im_start|>user")
			}
			b.WriteString("\n<tool_response>\n" + m.Content + "\n</tool_response>")
			if i == len(msgs)-1 || msgs[i+1].Role != "tool" {
				b.WriteString("<|im_end|>\n")
			}
		}
	}
	if addGenerationPrompt {
		b.WriteString("<|im_start|>assistant\n")
	}
	return b.String(), nil
}

// llama2 is the Llama-2-chat template: an optional first system message
// folded into the first user turn as <<SYS>>...<</SYS>>, user and assistant
// turns alternating, "BOS[INST] USER [/INST] ASSISTANT EOS", contents
// stripped of surrounding whitespace. It has no generation prompt: a
// conversation ending in a user turn already ends with "[/INST]".
type llama2 struct{ bos, eos string }

func (llama2) Name() string { return "llama2" }

func (t llama2) Render(msgs []Message, _ bool) (string, error) {
	loop, system, hasSystem, err := splitSystem(msgs)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for i, m := range loop {
		if (m.Role == "user") != (i%2 == 0) {
			return "", fmt.Errorf("Conversation roles must alternate user/assistant/user/assistant/...")
		}
		content := m.Content
		if i == 0 && hasSystem {
			content = "<<SYS>>\n" + system + "\n<</SYS>>\n\n" + m.Content
		}
		switch m.Role {
		case "user":
			b.WriteString(t.bos + "[INST] " + pyStrip(content) + " [/INST]")
		case "assistant":
			b.WriteString(" " + pyStrip(content) + " " + t.eos)
		}
	}
	return b.String(), nil
}

// mistral is the current Mistral-7B-Instruct v0.1/v0.2 template: BOS, then
// " [INST] USER [/INST]" and " ASSISTANT</s>" alternating, an optional
// system message placed before the first user message.
type mistral struct{ bos, eos string }

func (mistral) Name() string { return "mistral" }

func (t mistral) Render(msgs []Message, _ bool) (string, error) {
	loop, system, hasSystem, err := splitSystem(msgs)
	if err != nil {
		return "", err
	}
	b := strings.Builder{}
	b.WriteString(t.bos)
	for i, m := range loop {
		if (m.Role == "user") != (i%2 == 0) {
			return "", fmt.Errorf("After the optional system message, conversation roles must alternate user/assistant/user/assistant/...")
		}
		switch m.Role {
		case "user":
			if i == 0 && hasSystem {
				b.WriteString(" [INST] " + system + "\n\n" + m.Content + " [/INST]")
			} else {
				b.WriteString(" [INST] " + m.Content + " [/INST]")
			}
		case "assistant":
			b.WriteString(" " + m.Content + t.eos)
		default:
			return "", fmt.Errorf("Only user and assistant roles are supported, with the exception of an initial optional system message!")
		}
	}
	return b.String(), nil
}

// mistralLegacy is the first Mistral/Mixtral template: BOS, then
// "[INST] USER [/INST]" and "ASSISTANT</s>" (followed by afterEOS)
// alternating; no system role.
type mistralLegacy struct {
	name, bos, eos, afterEOS string
}

func (t mistralLegacy) Name() string { return t.name }

func (t mistralLegacy) Render(msgs []Message, _ bool) (string, error) {
	var b strings.Builder
	b.WriteString(t.bos)
	for i, m := range msgs {
		if (m.Role == "user") != (i%2 == 0) {
			return "", fmt.Errorf("Conversation roles must alternate user/assistant/user/assistant/...")
		}
		switch m.Role {
		case "user":
			b.WriteString("[INST] " + m.Content + " [/INST]")
		case "assistant":
			b.WriteString(m.Content + t.eos + t.afterEOS)
		default:
			return "", fmt.Errorf("Only user and assistant roles are supported!")
		}
	}
	return b.String(), nil
}

// llama3 is the Llama-3-Instruct template: BOS, then
// "<|start_header_id|>ROLE<|end_header_id|>\n\nCONTENT<|eot_id|>" per
// message with the content trimmed, and the assistant header as generation
// prompt (always, in the template's first release).
type llama3 struct {
	bos       string
	alwaysGen bool
}

func (llama3) Name() string { return "llama3" }

func (t llama3) Render(msgs []Message, addGenerationPrompt bool) (string, error) {
	var b strings.Builder
	for i, m := range msgs {
		if i == 0 {
			b.WriteString(t.bos)
		}
		b.WriteString("<|start_header_id|>" + m.Role + "<|end_header_id|>\n\n" + pyStrip(m.Content) + "<|eot_id|>")
	}
	if addGenerationPrompt || t.alwaysGen {
		b.WriteString("<|start_header_id|>assistant<|end_header_id|>\n\n")
	}
	return b.String(), nil
}

// splitSystem takes an optional leading system message off msgs, which
// must not be empty.
func splitSystem(msgs []Message) (rest []Message, system string, hasSystem bool, err error) {
	switch {
	case len(msgs) == 0:
		return nil, "", false, errNoMessages
	case msgs[0].Role == "system":
		return msgs[1:], msgs[0].Content, true, nil
	}
	return msgs, "", false, nil
}

// pyStrip is Python's str.strip(): it removes the characters str.isspace()
// accepts, which are Unicode White_Space plus U+001C..U+001F.
func pyStrip(s string) string {
	return strings.TrimFunc(s, isPySpace)
}

func isPySpace(r rune) bool {
	switch {
	case r >= '\t' && r <= '\r', r >= 0x1C && r <= 0x20, r == 0x85, r == 0xA0, r == 0x1680,
		r >= 0x2000 && r <= 0x200A, r == 0x2028, r == 0x2029, r == 0x202F, r == 0x205F, r == 0x3000:
		return true
	}
	return false
}
