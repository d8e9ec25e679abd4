package longbench

import (
	"fmt"
	"strconv"
	"strings"
)

// Tokenizer is what middle truncation needs from the model's tokenizer; the
// method names and meanings follow tokenizer.Tokenizer.
type Tokenizer interface {
	// EncodeWithSpecial tokenizes text as Hugging Face's tokenizer(text)
	// does: with the BOS token the model's tokenizer prepends, if any.
	EncodeWithSpecial(text string) []int
	// DecodeSkipSpecial decodes ids as Hugging Face's
	// decode(ids, skip_special_tokens=True).
	DecodeSkipSpecial(ids []int) string
}

// ChatTemplate wraps one user message into the model's chat format, ready
// to be tokenized (with the generation prompt of the assistant turn).
type ChatTemplate interface {
	Apply(user string) (string, error)
}

// TemplateFunc adapts a function to ChatTemplate.
type TemplateFunc func(user string) (string, error)

// Apply calls f.
func (f TemplateFunc) Apply(user string) (string, error) { return f(user) }

// PromptOptions says how prompts are fitted to a model.
type PromptOptions struct {
	// Tokenizer and MaxLength enable middle truncation: a prompt longer
	// than MaxLength tokens keeps its first and last MaxLength/2 tokens.
	// MaxLength 0 means no truncation.
	Tokenizer Tokenizer
	MaxLength int
	// Template, when not nil, wraps the prompt of every task that uses the
	// chat template (Task.UsesChatTemplate).
	Template ChatTemplate
}

// BuildPrompt returns exactly the text the runner sends to the model for
// row: the official template filled in, truncated in the middle to
// MaxLength tokens, then wrapped in the chat template unless the task is
// on the skip list (pred.py's order).
func BuildPrompt(t Task, row Row, opt PromptOptions) (string, error) {
	tmpl, err := t.PromptTemplate()
	if err != nil {
		return "", err
	}
	prompt, err := FormatPrompt(tmpl, row)
	if err != nil {
		return "", fmt.Errorf("task %s: %w", t.Name, err)
	}
	if opt.MaxLength > 0 {
		if opt.Tokenizer == nil {
			return "", fmt.Errorf("truncation to %d tokens needs a tokenizer", opt.MaxLength)
		}
		if prompt, err = TruncateMiddle(opt.Tokenizer, prompt, opt.MaxLength); err != nil {
			return "", err
		}
	}
	if opt.Template != nil && t.UsesChatTemplate() {
		if prompt, err = opt.Template.Apply(prompt); err != nil {
			return "", fmt.Errorf("chat template: %w", err)
		}
	}
	return prompt, nil
}

// TruncateMiddle is pred.py's truncation: tokenize prompt (with the
// tokenizer's BOS, as Hugging Face does); if that is longer than maxLength,
// decode the first and the last maxLength/2 tokens (skipping special
// tokens) and join the two texts.
func TruncateMiddle(tok Tokenizer, prompt string, maxLength int) (string, error) {
	if maxLength < 2 {
		return "", fmt.Errorf("max length %d: want at least 2 tokens", maxLength)
	}
	ids := tok.EncodeWithSpecial(prompt)
	if len(ids) <= maxLength {
		return prompt, nil
	}
	half := maxLength / 2
	return tok.DecodeSkipSpecial(ids[:half]) + tok.DecodeSkipSpecial(ids[len(ids)-half:]), nil
}

// FormatPrompt fills a template in Python str.format syntax with the row's
// fields, as pred.py's prompt_format.format(**json_obj) does: "{name}" is
// replaced by the field, "{{" and "}}" stand for braces. Format specs,
// conversions and unknown fields are errors.
func FormatPrompt(tmpl string, row Row) (string, error) {
	field := func(name string) (string, bool) {
		switch name {
		case "input":
			return row.Input, true
		case "context":
			return row.Context, true
		case "dataset":
			return row.Dataset, true
		case "language":
			return row.Language, true
		case "_id":
			return row.ID, true
		case "length":
			return strconv.Itoa(row.Length), true
		}
		return "", false
	}
	var b strings.Builder
	b.Grow(len(tmpl) + len(row.Context) + len(row.Input))
	for i := 0; i < len(tmpl); {
		c := tmpl[i]
		switch {
		case c == '{' && strings.HasPrefix(tmpl[i:], "{{"):
			b.WriteByte('{')
			i += 2
		case c == '}' && strings.HasPrefix(tmpl[i:], "}}"):
			b.WriteByte('}')
			i += 2
		case c == '}':
			return "", fmt.Errorf("prompt template: single '}' at byte %d", i)
		case c == '{':
			end := strings.IndexByte(tmpl[i:], '}')
			if end < 0 {
				return "", fmt.Errorf("prompt template: unclosed '{' at byte %d", i)
			}
			name := tmpl[i+1 : i+end]
			v, ok := field(name)
			if !ok {
				return "", fmt.Errorf("prompt template: unsupported field {%s}", name)
			}
			b.WriteString(v)
			i += end + 1
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), nil
}

// OfficialLlama2Template is the chat format pred.py gives its Llama-2
// models: "[INST]" + prompt + "[/INST]", without the spaces and system
// block of the Llama-2-chat template (the tokenizer adds the BOS).
func OfficialLlama2Template() ChatTemplate {
	return TemplateFunc(func(user string) (string, error) { return "[INST]" + user + "[/INST]", nil })
}
