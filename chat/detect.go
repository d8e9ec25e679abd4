package chat

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Detect reads the chat_template of a tokenizer_config.json and returns the
// native template that renders it, with the file's bos_token and eos_token.
// A template it does not recognise is an error naming the file.
func Detect(tokenizerConfigPath string) (Template, error) {
	data, err := os.ReadFile(tokenizerConfigPath)
	if err != nil {
		return nil, fmt.Errorf("chat template: %w", err)
	}
	t, err := DetectJSON(data)
	switch {
	case errors.Is(err, ErrUnrecognised), errors.Is(err, ErrNoTemplate):
		return nil, fmt.Errorf("%w in %s; %s", err, tokenizerConfigPath, chooseHint)
	case err != nil:
		return nil, fmt.Errorf("%s: %w", tokenizerConfigPath, err)
	}
	return t, nil
}

// Errors DetectJSON returns for configs it cannot use, and Resolve's error
// when it finds no tokenizer_config.json.
var (
	ErrUnrecognised = errors.New("unrecognised chat template")
	ErrNoTemplate   = errors.New("no chat_template")
	ErrNoConfig     = errors.New("no tokenizer_config.json")
)

// FindConfig returns the tokenizer_config.json beside or in the first of
// paths (tokenizer or model files, or folders; empty ones are skipped)
// that has one, or "" when none does.
func FindConfig(paths ...string) string {
	for _, dir := range paths {
		if dir == "" {
			continue
		}
		if st, err := os.Stat(dir); err == nil && !st.IsDir() {
			dir = filepath.Dir(dir)
		}
		p := filepath.Join(dir, "tokenizer_config.json")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// Resolve returns the template named name (as ByName), or when name is
// empty the one Detect finds in the tokenizer_config.json of FindConfig(paths...);
// ErrNoConfig when there is none.
func Resolve(name string, paths ...string) (Template, error) {
	if name != "" {
		return ByName(name)
	}
	p := FindConfig(paths...)
	if p == "" {
		return nil, ErrNoConfig
	}
	return Detect(p)
}

// Source returns the chat_template text of a tokenizer_config.json (its
// "default" entry when it lists named templates), "" when it has none.
func Source(tokenizerConfigPath string) (string, error) {
	data, err := os.ReadFile(tokenizerConfigPath)
	if err != nil {
		return "", fmt.Errorf("chat template: %w", err)
	}
	var cfg struct {
		ChatTemplate json.RawMessage `json:"chat_template"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return "", fmt.Errorf("%s: parsing JSON: %w", tokenizerConfigPath, err)
	}
	src, err := templateSource(cfg.ChatTemplate)
	if err != nil {
		return "", fmt.Errorf("%s: %w", tokenizerConfigPath, err)
	}
	return src, nil
}

// chooseHint tells how to get past a template Detect does not know.
const chooseHint = "choose one with --chat-template chatml|llama2|mistral|llama3"

// DetectJSON is Detect on the bytes of a tokenizer_config.json.
func DetectJSON(data []byte) (Template, error) {
	var cfg struct {
		ChatTemplate json.RawMessage `json:"chat_template"`
		BOS          json.RawMessage `json:"bos_token"`
		EOS          json.RawMessage `json:"eos_token"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("parsing JSON: %w", err)
	}
	src, err := templateSource(cfg.ChatTemplate)
	if err != nil {
		return nil, err
	}
	if src == "" {
		return nil, ErrNoTemplate
	}
	bos, err := tokenText(cfg.BOS)
	if err != nil {
		return nil, fmt.Errorf("field bos_token: %w", err)
	}
	eos, err := tokenText(cfg.EOS)
	if err != nil {
		return nil, fmt.Errorf("field eos_token: %w", err)
	}
	mk, ok := known[canonical(src)]
	if !ok {
		return nil, ErrUnrecognised
	}
	return mk(bos, eos), nil
}

// templateSource reads chat_template: a string, or a list of
// {"name", "template"} from which "default" is taken.
func templateSource(raw json.RawMessage) (string, error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return "", nil
	}
	var src string
	if err := json.Unmarshal(raw, &src); err == nil {
		return src, nil
	}
	var list []struct {
		Name     string `json:"name"`
		Template string `json:"template"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return "", fmt.Errorf("field chat_template: neither a string nor a list of named templates")
	}
	for _, t := range list {
		if t.Name == "default" {
			return t.Template, nil
		}
	}
	return "", fmt.Errorf("field chat_template: no template named \"default\"")
}

// tokenText reads a special-token field: a string, {"content": ...} or null.
func tokenText(raw json.RawMessage) (string, error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return "", nil
	}
	var text string
	if err := json.Unmarshal(raw, &text); err == nil {
		return text, nil
	}
	var obj struct {
		Content string `json:"content"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil {
		return "", fmt.Errorf("neither a string nor an object with content")
	}
	return obj.Content, nil
}

// or returns s, or def when s is empty.
func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// known maps the canonical form of each recognised template to its native
// renderer, given the config's bos and eos text.
var known = func() map[string]func(bos, eos string) Template {
	m := map[string]func(bos, eos string) Template{}
	add := func(src string, mk func(bos, eos string) Template) { m[canonical(src)] = mk }
	add(qwen2Template, func(_, _ string) Template { return chatML{name: "chatml", defaultSystem: qwen2DefaultSystem} })
	add(chatMLTemplate, func(_, _ string) Template { return chatML{name: "chatml-plain"} })
	add(qwen25Template, func(_, _ string) Template { return qwen25{} })
	add(llama2Template, func(bos, eos string) Template { return llama2{bos: or(bos, "<s>"), eos: or(eos, "</s>")} })
	add(mistralTemplate, func(bos, eos string) Template { return mistral{bos: or(bos, "<s>"), eos: or(eos, "</s>")} })
	add(mistralV01Template, func(bos, eos string) Template {
		return mistralLegacy{name: "mistral-v0.1", bos: or(bos, "<s>"), eos: or(eos, "</s>"), afterEOS: " "}
	})
	add(mixtralTemplate, func(bos, eos string) Template {
		return mistralLegacy{name: "mixtral", bos: or(bos, "<s>"), eos: or(eos, "</s>")}
	})
	add(llama3Template, func(bos, _ string) Template { return llama3{bos: or(bos, "<|begin_of_text|>")} })
	add(llama3FirstTemplate, func(bos, _ string) Template {
		return llama3{bos: or(bos, "<|begin_of_text|>"), alwaysGen: true}
	})
	return m
}()

// canonical reduces a Jinja template to a form in which equivalent
// spellings compare equal: whitespace inside tags outside string literals
// is dropped, string literals lose their quote style and escapes, and
// whitespace-only text next to a whitespace-control "-" (which Jinja strips)
// is dropped, as is trailing whitespace.
func canonical(src string) string {
	var b strings.Builder
	text := 0 // start of the current run of text outside tags
	flushText := func(end int, stripLeft bool) {
		seg := src[text:end]
		if strings.TrimSpace(seg) == "" && (stripLeft || trimmedByPrev(&b)) {
			seg = ""
		}
		b.WriteString(seg)
	}
	for i := 0; i < len(src); {
		if i+1 >= len(src) || src[i] != '{' || (src[i+1] != '{' && src[i+1] != '%' && src[i+1] != '#') {
			i++
			continue
		}
		closer := map[byte]string{'{': "}}", '%': "%}", '#': "#}"}[src[i+1]]
		flushText(i, i+2 < len(src) && src[i+2] == '-')
		b.WriteString(src[i : i+2])
		j := i + 2
		for j < len(src) && !strings.HasPrefix(src[j:], closer) {
			c := src[j]
			switch {
			case c == '\'' || c == '"':
				k := j + 1
				var lit strings.Builder
				for k < len(src) && src[k] != c {
					if src[k] == '\\' && k+1 < len(src) {
						k++
						lit.WriteByte(unescape(src[k]))
					} else {
						lit.WriteByte(src[k])
					}
					k++
				}
				b.WriteString("\x01" + lit.String() + "\x01")
				j = k + 1
			case c == ' ' || c == '\t' || c == '\n' || c == '\r':
				j++
			default:
				b.WriteByte(c)
				j++
			}
		}
		b.WriteString(closer)
		i = j + len(closer)
		text = min(i, len(src))
	}
	flushText(len(src), true)
	return strings.TrimRight(b.String(), " \t\r\n")
}

// trimmedByPrev reports whether the tag just written ends with "-" before
// its closer, so Jinja strips the whitespace after it.
func trimmedByPrev(b *strings.Builder) bool {
	s := b.String()
	return strings.HasSuffix(s, "-}}") || strings.HasSuffix(s, "-%}")
}

// unescape maps the character after a backslash in a Jinja string literal.
func unescape(c byte) byte {
	switch c {
	case 'n':
		return '\n'
	case 't':
		return '\t'
	case 'r':
		return '\r'
	}
	return c
}
