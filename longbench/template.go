package longbench

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sdtp/sdtp/chat"
	"github.com/sdtp/sdtp/evalrun"
)

// TemplateHelp documents the template names ResolveTemplate accepts.
func TemplateHelp() string {
	return "chat template for the tasks that use one: none, official-llama2 (pred.py's \"[INST]prompt[/INST]\"), or one of " +
		strings.Join(chat.Names(), ", ") + "; default: detected from tokenizer_config.json beside the tokenizer, none if there is none"
}

// ResolveTemplate turns a --chat-template value into the template the
// tasks that use one get: "none", "official-llama2", a chat template name,
// or (empty) the template of the tokenizer_config.json beside paths (none
// when there is no such file). The second result names what was chosen,
// for meta.json.
func ResolveTemplate(name string, paths ...string) (ChatTemplate, string, error) {
	if name == "official-llama2" {
		return OfficialLlama2Template(), name, nil
	}
	t, used, err := evalrun.ResolveTemplate(name, paths...)
	if errors.Is(err, evalrun.ErrUnknownTemplate) {
		return nil, "", fmt.Errorf("--chat-template %q: want none, official-llama2 or one of %s", name, strings.Join(chat.Names(), ", "))
	}
	return t, used, err
}
