// Package session opens a model for use: the compute backend, the model
// named by a spec (model.Locate), its tokenizer, its chat template, the
// ids that end generation, and the pruning the user chose. Every command
// that runs a model (generate, serve, longbench run, bench, train corpus)
// opens it here, so each of these decisions is made once.
//
// The options are the sdtp command line's, and errors name the flag that
// set the value at fault (--model, --tokenizer, --prune-module, ...).
package session

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sdtp/sdtp/backend"
	"github.com/sdtp/sdtp/chat"
	"github.com/sdtp/sdtp/model"
	"github.com/sdtp/sdtp/tokenizer"
)

// Options name what to open.
type Options struct {
	// Model is a model spec: a Hugging Face folder, a llama2.c checkpoint
	// or synthetic:NAME.
	Model string
	// Tokenizer is tokenizer.json, a llama2.c tokenizer.bin or a folder;
	// empty: the model folder's tokenizer.json, when there is one.
	Tokenizer string
	// Backend is cpu, cuda, cuda-f32 or auto.
	Backend string
	// Device is the GPU index; Threads caps the CPU workers (0: all cores).
	Device, Threads int
}

// Session is an opened backend, model and (when one is found) tokenizer.
type Session struct {
	Options
	B   backend.Backend
	M   *model.Model
	Tok tokenizer.Tokenizer // nil when there is none
}

// Open opens the backend, the model and the tokenizer o names; on error
// nothing stays open.
func Open(o Options) (*Session, error) {
	if o.Model == "" { // before a GPU is opened for nothing
		return nil, errors.New("--model is required")
	}
	b, err := OpenBackend(o)
	if err != nil {
		return nil, err
	}
	m, err := OpenModel(b, o.Model)
	if err != nil {
		b.Close()
		return nil, err
	}
	tok, err := OpenTokenizer(o.Model, o.Tokenizer)
	if err == nil && tok != nil && tok.VocabSize() > m.Config.Vocab {
		err = fmt.Errorf("--tokenizer has %d tokens but the model's vocabulary only %d: a tokenizer of another model?", tok.VocabSize(), m.Config.Vocab)
	}
	if err != nil {
		m.Close()
		b.Close()
		return nil, err
	}
	return &Session{Options: o, B: b, M: m, Tok: tok}, nil
}

// Close releases the model and the backend.
func (s *Session) Close() {
	s.M.Close()
	s.B.Close()
}

// OpenBackend opens the backend o names.
func OpenBackend(o Options) (backend.Backend, error) {
	switch o.Backend {
	case "cpu", "cuda", "cuda-f32", "auto":
	default:
		return nil, fmt.Errorf("--backend %q: want cpu, cuda, cuda-f32 or auto", o.Backend)
	}
	return backend.Open(o.Backend, backend.Options{Device: o.Device, Threads: o.Threads})
}

// OpenModel loads the model spec names onto b.
func OpenModel(b backend.Backend, spec string) (*model.Model, error) {
	if spec == "" {
		return nil, errors.New("--model is required")
	}
	m, err := model.Open(b, spec)
	if err != nil {
		return nil, fmt.Errorf("--model: %w", err)
	}
	return m, nil
}

// OpenCPUModels loads n copies of the model spec names, each on its own
// single-thread CPU backend, for work spread over texts; closeAll releases
// them all.
func OpenCPUModels(spec string, n int) (models []*model.Model, closeAll func(), err error) {
	closeAll = func() {
		for _, m := range models {
			b := m.B
			m.Close()
			b.Close()
		}
	}
	for range n {
		b, err := OpenBackend(Options{Backend: "cpu", Threads: 1})
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		m, err := OpenModel(b, spec)
		if err != nil {
			b.Close()
			closeAll()
			return nil, nil, err
		}
		models = append(models, m)
	}
	return models, closeAll, nil
}

// OpenTokenizer loads the tokenizer at path, or the tokenizer.json in the
// model folder spec when path is empty; it returns nil with no error when
// there is none to find (synthetic models, llama2.c checkpoints without a
// tokenizer path).
func OpenTokenizer(spec, path string) (tokenizer.Tokenizer, error) {
	if path == "" {
		if st, err := os.Stat(spec); err == nil && st.IsDir() {
			if _, err := os.Stat(filepath.Join(spec, "tokenizer.json")); err == nil {
				path = spec
			}
		}
	}
	if path == "" {
		return nil, nil
	}
	t, err := tokenizer.Load(path)
	if err != nil {
		return nil, fmt.Errorf("--tokenizer: %w", err)
	}
	return t, nil
}

// StopIDs are the ids that end generation (model.Config.StopIDs with the
// tokenizer's EOS ids).
func (s *Session) StopIDs() []int {
	var eos []int
	if s.Tok != nil {
		eos = s.Tok.EOS()
	}
	return s.M.Config.StopIDs(eos)
}

// ChatTemplate returns the chat template called name, or (name empty) the
// one detected from the tokenizer_config.json beside the tokenizer or the
// model.
func (s *Session) ChatTemplate(name string) (chat.Template, error) {
	t, err := chat.Resolve(name, s.Tokenizer, s.Model)
	switch {
	case errors.Is(err, chat.ErrNoConfig):
		return nil, fmt.Errorf("no tokenizer_config.json with a chat template found next to the tokenizer or model; choose one with --chat-template (%s)", strings.Join(chat.Names(), ", "))
	case err != nil && name != "":
		return nil, fmt.Errorf("--chat-template: %w", err)
	}
	return t, err
}

// ChatIDs renders a user message (after a system message, when not empty)
// with the chat template called name (empty: the detected one) and
// tokenizes the text as the template wrote it, special tokens included and
// no BOS added. The session needs a tokenizer.
func (s *Session) ChatIDs(name, system, user string) ([]int, error) {
	tmpl, err := s.ChatTemplate(name)
	if err != nil {
		return nil, err
	}
	var msgs []chat.Message
	if system != "" {
		msgs = append(msgs, chat.Message{Role: "system", Content: system})
	}
	text, err := tmpl.Render(append(msgs, chat.Message{Role: "user", Content: user}), true)
	if err != nil {
		return nil, err
	}
	return s.Tok.Encode(text), nil
}

// ChatTemplateSource is the chat_template text of the tokenizer_config.json
// ChatTemplate detects from ("" when there is none or it cannot be read).
func (s *Session) ChatTemplateSource() string {
	p := chat.FindConfig(s.Tokenizer, s.Model)
	if p == "" {
		return ""
	}
	src, err := chat.Source(p)
	if err != nil {
		return ""
	}
	return src
}
