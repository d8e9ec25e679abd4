package evalrun

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sdtp/sdtp/chat"
)

// ChatTemplate wraps one user message into the model's chat format, ready
// to be tokenized (with the generation prompt of the assistant turn).
type ChatTemplate interface {
	Apply(user string) (string, error)
}

// TemplateFunc adapts a function to ChatTemplate.
type TemplateFunc func(user string) (string, error)

// Apply calls f.
func (f TemplateFunc) Apply(user string) (string, error) { return f(user) }

// ErrUnknownTemplate is the error of a template name that is neither
// "none" nor a chat template's.
var ErrUnknownTemplate = errors.New("unknown chat template")

// ResolveTemplate turns a --chat-template value into a template: "none"
// (nil), a chat template name, or (empty) the template of the
// tokenizer_config.json beside paths (none when there is no such file, or
// when it has no chat_template: a base model, prompted with the raw text).
// The second result names what was chosen, for meta.json.
func ResolveTemplate(name string, paths ...string) (ChatTemplate, string, error) {
	if name == "none" {
		return nil, "none", nil
	}
	t, err := chat.Resolve(name, paths...)
	switch {
	case errors.Is(err, chat.ErrNoConfig), name == "" && errors.Is(err, chat.ErrNoTemplate):
		return nil, "none", nil
	case err != nil && name != "":
		return nil, "", fmt.Errorf("--chat-template %q: %w: want none or one of %s", name, ErrUnknownTemplate, strings.Join(chat.Names(), ", "))
	case err != nil:
		return nil, "", err
	}
	return TemplateFunc(func(user string) (string, error) {
		return t.Render([]chat.Message{{Role: "user", Content: user}}, true)
	}), t.Name(), nil
}
