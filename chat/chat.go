// Package chat renders conversations into the prompt text a chat model was
// trained on. Each template is native Go that produces, byte for byte, what
// the model's Jinja chat template in tokenizer_config.json renders (as
// Hugging Face's apply_chat_template does), including its errors.
//
// The rendered text contains special-token text ("<|im_start|>", "<s>");
// encode it with a tokenizer that matches special tokens in text and adds
// no BOS of its own (tokenizer.Tokenizer.Encode).
package chat

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Message is one turn of a conversation.
type Message struct {
	Role    string // "system", "user", "assistant" (some templates know "tool")
	Content string
}

// Template renders a conversation.
type Template interface {
	// Name is the template's name, as ByName accepts it.
	Name() string
	// Render returns the prompt text for msgs; with addGenerationPrompt it
	// ends with the header of an assistant turn (for templates that have
	// one). Errors are the ones the Jinja template raises.
	Render(msgs []Message, addGenerationPrompt bool) (string, error)
}

// constructors of the named templates with their families' usual special
// tokens.
var named = map[string]func() Template{
	"chatml":       func() Template { return chatML{name: "chatml", defaultSystem: qwen2DefaultSystem} },
	"qwen2.5":      func() Template { return qwen25{} },
	"chatml-plain": func() Template { return chatML{name: "chatml-plain"} },
	"llama2":       func() Template { return llama2{bos: "<s>", eos: "</s>"} },
	"mistral":      func() Template { return mistral{bos: "<s>", eos: "</s>"} },
	"mistral-v0.1": func() Template { return mistralLegacy{name: "mistral-v0.1", bos: "<s>", eos: "</s>", afterEOS: " "} },
	"mixtral":      func() Template { return mistralLegacy{name: "mixtral", bos: "<s>", eos: "</s>"} },
	"llama3":       func() Template { return llama3{bos: "<|begin_of_text|>"} },
}

// Names lists the template names ByName accepts.
func Names() []string {
	return slices.Sorted(maps.Keys(named))
}

// ByName returns a template by name: "chatml" (Qwen2-Instruct, with its
// default system prompt), "qwen2.5" (Qwen2.5-Instruct), "chatml-plain"
// (ChatML without a default system prompt), "llama2" (Llama-2-chat),
// "mistral" (Mistral-7B-Instruct v0.1/v0.2, current template), "mistral-v0.1"
// and "mixtral" (the earlier [INST] templates), "llama3" (Llama-3-Instruct).
func ByName(name string) (Template, error) {
	mk, ok := named[strings.ToLower(name)]
	if !ok {
		return nil, fmt.Errorf("unknown chat template %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	return mk(), nil
}

// errNoMessages is what templates that read messages[0] raise on an empty
// conversation (Jinja's undefined error).
var errNoMessages = errors.New("chat template needs at least one message")
