package longbench

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/sdtp/sdtp/evalrun"
)

// Tokenizer is what middle truncation and the context budget need from the
// model's tokenizer; the method names and meanings follow
// tokenizer.Tokenizer.
type Tokenizer interface {
	// EncodeWithSpecial tokenizes text as Hugging Face's tokenizer(text)
	// does: with the BOS token the model's tokenizer prepends, if any.
	EncodeWithSpecial(text string) []int
	// DecodeSkipSpecial decodes ids as Hugging Face's
	// decode(ids, skip_special_tokens=True).
	DecodeSkipSpecial(ids []int) string
	// BOS is the beginning-of-sequence id, or -1 when there is none.
	BOS() int
}

// EncodePrompt tokenizes a final prompt (truncated and templated) as the
// model receives it: tokenizer(prompt) with the tokenizer's BOS, but one
// BOS only where the chat template wrote it already (evalrun.EncodePrompt).
func EncodePrompt(tok Tokenizer, prompt string) []int { return evalrun.EncodePrompt(tok, prompt) }

// ChatTemplate wraps one user message into the model's chat format, ready
// to be tokenized (with the generation prompt of the assistant turn).
type ChatTemplate = evalrun.ChatTemplate

// TemplateFunc adapts a function to ChatTemplate.
type TemplateFunc = evalrun.TemplateFunc

// PromptOptions says how prompts are fitted to a model.
type PromptOptions struct {
	// Tokenizer is the model's tokenizer, needed to cut prompts.
	Tokenizer Tokenizer
	// MaxLength is pred.py's max_length: a prompt longer than MaxLength
	// tokens keeps its first and last MaxLength/2 tokens. 0 means the
	// default: with Positions, the longest that fits (MaxLengthFor); with
	// neither, no truncation.
	MaxLength int
	// Template, when not nil, wraps the prompt of every task that uses the
	// chat template (Task.UsesChatTemplate).
	Template ChatTemplate
	// Positions, when not 0, is the model's context length. The prompt the
	// model receives (EncodePrompt of the final text) plus the task's new
	// tokens (NewTokens) then always fit in it: where the chat template or
	// the re-tokenisation of the cut text makes the prompt longer than the
	// room left, it is cut again, shorter by the excess.
	Positions int
}

// NewTokens returns the number of new tokens generated for task t: the
// official number, capped at half the model's positions so that a model
// with a short context (512 positions against gov_report's 512 new
// tokens) still has room for a prompt.
func (o PromptOptions) NewTokens(t Task) (int, error) {
	n, err := t.MaxNewTokens()
	if err != nil {
		return 0, err
	}
	if o.Positions > 0 && n > o.Positions/2 {
		n = o.Positions / 2
	}
	return n, nil
}

// MaxLengthFor returns the length task t's prompts are cut to before the
// chat template. An explicit MaxLength must leave room for the task's new
// tokens in Positions. The default (MaxLength 0) is Positions minus the
// task's new tokens minus the tokens the chat template adds; without
// Positions it is 0, no truncation.
func (o PromptOptions) MaxLengthFor(t Task) (int, error) {
	newTokens, err := o.NewTokens(t)
	if err != nil {
		return 0, err
	}
	if o.MaxLength != 0 {
		switch {
		case o.MaxLength < 2:
			return 0, fmt.Errorf("max length %d: want at least 2 tokens", o.MaxLength)
		case o.Positions > 0 && o.MaxLength+newTokens > o.Positions:
			return 0, fmt.Errorf("%d prompt tokens and %s's %d new tokens exceed the model's %d positions (0 picks the longest prompt that fits)", o.MaxLength, t.Name, newTokens, o.Positions)
		}
		return o.MaxLength, nil
	}
	if o.Positions == 0 {
		return 0, nil
	}
	if o.Tokenizer == nil {
		return 0, errors.New("fitting prompts to the model's positions needs a tokenizer")
	}
	extra, err := o.templateTokens(t)
	if err != nil {
		return 0, err
	}
	n := o.Positions - newTokens - extra
	if n < 2 {
		return 0, fmt.Errorf("the model's %d positions leave no room for a prompt after %s's %d new tokens and the chat template's %d tokens", o.Positions, t.Name, newTokens, extra)
	}
	return n, nil
}

// templateTokens is the number of tokens the chat template adds to task
// t's prompts (0 when the task does not use it).
func (o PromptOptions) templateTokens(t Task) (int, error) {
	if o.Template == nil || !t.UsesChatTemplate() {
		return 0, nil
	}
	empty, err := o.Template.Apply("")
	if err != nil {
		return 0, fmt.Errorf("chat template: %w", err)
	}
	return max(0, len(EncodePrompt(o.Tokenizer, empty))-len(EncodePrompt(o.Tokenizer, ""))), nil
}

// BuildPrompt returns exactly the text the runner sends to the model for
// row: the official template filled in, truncated in the middle to
// MaxLengthFor(t) tokens, then wrapped in the chat template unless the task
// is on the skip list (pred.py's order). With Positions, a prompt that
// comes out too long for the task's new tokens is cut again, shorter.
func BuildPrompt(t Task, row Row, opt PromptOptions) (string, error) {
	tmpl, err := t.PromptTemplate()
	if err != nil {
		return "", err
	}
	prompt, err := FormatPrompt(tmpl, row)
	if err != nil {
		return "", fmt.Errorf("task %s: %w", t.Name, err)
	}
	maxLen, err := opt.MaxLengthFor(t)
	if err != nil {
		return "", err
	}
	if maxLen == 0 {
		return opt.wrap(t, prompt)
	}
	if opt.Tokenizer == nil {
		return "", fmt.Errorf("truncation to %d tokens needs a tokenizer", maxLen)
	}
	return opt.fit(t, prompt, maxLen)
}

// wrap applies the chat template where task t uses it.
func (o PromptOptions) wrap(t Task, prompt string) (string, error) {
	if o.Template == nil || !t.UsesChatTemplate() {
		return prompt, nil
	}
	out, err := o.Template.Apply(prompt)
	if err != nil {
		return "", fmt.Errorf("chat template: %w", err)
	}
	return out, nil
}

// fit cuts prompt to maxLen tokens and wraps it; with Positions, while the
// result and the task's new tokens do not fit, it cuts again, shorter by
// the excess. maxLen shrinks on every round, so this ends.
func (o PromptOptions) fit(t Task, prompt string, maxLen int) (string, error) {
	ids := o.Tokenizer.EncodeWithSpecial(prompt)
	room := 0
	if o.Positions > 0 {
		newTokens, err := o.NewTokens(t)
		if err != nil {
			return "", err
		}
		room = o.Positions - newTokens
	}
	for {
		text := prompt
		if len(ids) > maxLen {
			text = cutMiddle(o.Tokenizer, ids, maxLen)
		}
		out, err := o.wrap(t, text)
		if err != nil || o.Positions == 0 {
			return out, err
		}
		n := len(EncodePrompt(o.Tokenizer, out))
		if n <= room {
			return out, nil
		}
		next := min(maxLen, len(ids)) - (n - room)
		if next < 2 {
			return "", fmt.Errorf("the prompt does not fit: %d tokens with the chat template, and %s's %d new tokens leave room for %d", n, t.Name, o.Positions-room, room)
		}
		maxLen = next
	}
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
	return cutMiddle(tok, ids, maxLength), nil
}

// cutMiddle decodes the first and the last maxLength/2 of ids.
func cutMiddle(tok Tokenizer, ids []int, maxLength int) string {
	half := maxLength / 2
	return tok.DecodeSkipSpecial(ids[:half]) + tok.DecodeSkipSpecial(ids[len(ids)-half:])
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

// CheckTasks checks that every task's prompts can be fitted to the model
// (MaxLengthFor), and lists the tasks whose new tokens the model's
// positions cap (NewTokens) as "name n of official".
func (o PromptOptions) CheckTasks(tasks []Task) (capped []string, err error) {
	for _, t := range tasks {
		if _, err := o.MaxLengthFor(t); err != nil {
			return nil, err
		}
		official, err := t.MaxNewTokens()
		if err != nil {
			return nil, err
		}
		if n, _ := o.NewTokens(t); n < official {
			capped = append(capped, fmt.Sprintf("%s %d of %d", t.Name, n, official))
		}
	}
	return capped, nil
}
