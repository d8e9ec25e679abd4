package server

import (
	"context"
	"strconv"
	"strings"

	"github.com/sdtp/sdtp/generate"
	"github.com/sdtp/sdtp/model"
)

// Engine runs generations for the server. Implementations must be safe for
// as many concurrent calls as the server's MaxConcurrent allows.
type Engine interface {
	// Info describes the model behind the engine.
	Info() EngineInfo
	// Generate continues req.Prompt, decoding text with dec.
	Generate(ctx context.Context, req generate.Request, dec generate.Decoder) (*generate.Result, error)
}

// EngineInfo is what the server needs to know about the model.
type EngineInfo struct {
	// Vocab is the number of token ids the model accepts.
	Vocab int
	// MaxPos is the model's context length (prompt plus new tokens); 0: unbounded.
	MaxPos int
	// BOS is the beginning-of-sequence id, or -1.
	BOS int
	// StopIDs end generation unless a request sets ignore_eos.
	StopIDs []int
	// Layers is the number of decoder blocks.
	Layers int
}

// ModelEngine runs generate.Run on a loaded model. Both sdtp backends
// serialise their ops internally, so concurrent calls are safe (they
// interleave; each has its own KV cache).
type ModelEngine struct {
	Model *model.Model
	// StopIDs end generation (EOS): model.Config.StopIDs with the
	// tokenizer's EOS ids (session.Session.StopIDs).
	StopIDs []int
}

// Info implements Engine.
func (e *ModelEngine) Info() EngineInfo { return modelInfo(e.Model, e.StopIDs) }

// Generate implements Engine.
func (e *ModelEngine) Generate(ctx context.Context, req generate.Request, dec generate.Decoder) (*generate.Result, error) {
	return generate.Run(ctx, e.Model, dec, req)
}

// BatchEngine runs the requests in one continuous batch on its model
// (generate.Batcher): requests running at once decode together, one
// model step for all. The server's MaxConcurrent should be at least the
// batcher's MaxBatch, or the batch never fills.
type BatchEngine struct {
	Batcher *generate.Batcher
	// StopIDs end generation (EOS), as in ModelEngine.
	StopIDs []int
}

// Info implements Engine.
func (e *BatchEngine) Info() EngineInfo { return modelInfo(e.Batcher.Model(), e.StopIDs) }

// Generate implements Engine.
func (e *BatchEngine) Generate(ctx context.Context, req generate.Request, dec generate.Decoder) (*generate.Result, error) {
	return e.Batcher.Generate(ctx, dec, req)
}

func modelInfo(m *model.Model, stop []int) EngineInfo {
	c := &m.Config
	return EngineInfo{Vocab: c.Vocab, MaxPos: c.MaxPos, BOS: c.BOS, StopIDs: stop, Layers: c.Layers}
}

// Tokenizer is the part of tokenizer.Tokenizer the server uses.
type Tokenizer interface {
	// Encode tokenizes text without adding BOS/EOS (special tokens written
	// in the text are matched).
	Encode(text string) []int
	// EncodeWithSpecial tokenizes text and applies the tokenizer's
	// post-processing (BOS for Llama-2 and llama2.c).
	EncodeWithSpecial(text string) []int
	// Decode turns ids into text, special tokens rendered as their text.
	Decode(ids []int) string
	// TokenText is the raw token string, or "" for an unknown id.
	TokenText(id int) string
	// BOS is the beginning-of-sequence id, or -1.
	BOS() int
	// EOS lists the ids that end generation.
	EOS() []int
	// MaxTokenBytes bounds the bytes of text one token stands for (0: no
	// bound), so that a text too long for the context is refused before
	// it is tokenized.
	MaxTokenBytes() int
}

// idDecoder renders token ids as "<id:N>" where the server has no
// tokenizer, so that text, text offsets and stop strings stay consistent.
type idDecoder struct{}

func (idDecoder) Decode(ids []int) string {
	var b strings.Builder
	for _, id := range ids {
		b.WriteString(idText(id))
	}
	return b.String()
}

func idText(id int) string { return "<id:" + strconv.Itoa(id) + ">" }

// checkIDs reports the first id outside [0, vocab).
func checkIDs(ids []int, vocab int, param string) error {
	for i, id := range ids {
		if id < 0 || (vocab > 0 && id >= vocab) {
			return badRequest(param, "token id %d at index %d is outside the vocabulary [0, %d)", id, i, vocab)
		}
	}
	return nil
}
