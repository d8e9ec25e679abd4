package server

import (
	"net/http"
)

// noTokenizer is the error of text endpoints on a server without a tokenizer.
func noTokenizer(param string) *apiError {
	return badRequestCode(param, "no_tokenizer", "this server has no tokenizer (start it with --tokenizer); send prompts as token ids")
}

// tokenizerInfo is the body of GET /tokenizer_info, the fields lm-eval's
// remote tokenizer reads (as vLLM serves them).
type tokenizerInfo struct {
	EOSToken      *string `json:"eos_token"`
	BOSToken      *string `json:"bos_token"`
	PadToken      *string `json:"pad_token"`
	ChatTemplate  *string `json:"chat_template"`
	ModelMaxLen   int     `json:"model_max_length,omitempty"`
	TokenizerName string  `json:"tokenizer_class"`
	EOSTokenID    *int    `json:"eos_token_id"`
	BOSTokenID    *int    `json:"bos_token_id"`
}

func (s *Server) handleTokenizerInfo(w http.ResponseWriter, r *http.Request) {
	tok := s.o.Tokenizer
	if tok == nil {
		writeError(w, noTokenizer(""))
		return
	}
	info := tokenizerInfo{ChatTemplate: strPtr(s.o.ChatTemplate), ModelMaxLen: s.o.MaxContext, TokenizerName: "sdtp"}
	if id := s.eosID(); id >= 0 {
		info.EOSToken, info.EOSTokenID = strPtr(tok.TokenText(id)), &id
		// No pad token of its own: like lm-eval's HF path, pad with EOS.
		info.PadToken = info.EOSToken
	}
	if id := tok.BOS(); id >= 0 {
		info.BOSToken, info.BOSTokenID = strPtr(tok.TokenText(id)), &id
	}
	writeJSON(w, http.StatusOK, info)
}

// eosID is the tokenizer's end-of-sequence id: its first EOS id that is
// not BOS (llama2.c files list BOS among the ids that end generation).
func (s *Server) eosID() int {
	tok := s.o.Tokenizer
	for _, id := range tok.EOS() {
		if id != tok.BOS() {
			return id
		}
	}
	return -1
}

type tokenizeRequest struct {
	Model            string  `json:"model"`
	Prompt           *string `json:"prompt"`
	AddSpecialTokens *bool   `json:"add_special_tokens"`
}

type tokenizeResponse struct {
	Tokens      []int `json:"tokens"`
	Count       int   `json:"count"`
	MaxModelLen int   `json:"max_model_len,omitempty"`
}

// handleTokenize encodes {"prompt", "add_special_tokens" (default true)},
// under its own admission of the generation's sizes (so lm-eval's tokenizer
// calls do not wait behind generations).
func (s *Server) handleTokenize(w http.ResponseWriter, r *http.Request) {
	var req tokenizeRequest
	if err := s.decodeTokenizerRequest(w, r, &req, &req.Model, "prompt"); err != nil {
		writeError(w, err)
		return
	}
	if req.Prompt == nil {
		writeError(w, badRequest("prompt", "prompt (a string) is required"))
		return
	}
	// Tokenizing a long text takes many times its size in memory: at
	// most MaxConcurrent requests do it at once, Queue more wait.
	release, err := s.acquire(r.Context(), s.tokAdm)
	if err != nil {
		writeError(w, err)
		return
	}
	defer release()
	var ids []int
	if req.AddSpecialTokens == nil || *req.AddSpecialTokens {
		ids = s.o.Tokenizer.EncodeWithSpecial(*req.Prompt)
	} else {
		ids = s.o.Tokenizer.Encode(*req.Prompt)
	}
	if ids == nil {
		ids = []int{}
	}
	writeJSON(w, http.StatusOK, tokenizeResponse{Tokens: ids, Count: len(ids), MaxModelLen: s.o.MaxContext})
}

type detokenizeRequest struct {
	Model  string `json:"model"`
	Tokens *[]int `json:"tokens"`
}

// handleDetokenize decodes {"tokens"} to {"prompt"}.
func (s *Server) handleDetokenize(w http.ResponseWriter, r *http.Request) {
	var req detokenizeRequest
	if err := s.decodeTokenizerRequest(w, r, &req, &req.Model, "tokens"); err != nil {
		writeError(w, err)
		return
	}
	if req.Tokens == nil {
		writeError(w, badRequest("tokens", "tokens (a list of token ids) is required"))
		return
	}
	if err := checkIDs(*req.Tokens, s.info.Vocab, "tokens"); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"prompt": s.o.Tokenizer.Decode(*req.Tokens)})
}

// decodeTokenizerRequest reads the request of a tokenizer endpoint into
// req and checks what they share: model names the served model (read from
// req), and there is a tokenizer (param names the text field for the
// error).
func (s *Server) decodeTokenizerRequest(w http.ResponseWriter, r *http.Request, req any, model *string, param string) error {
	if err := s.decode(w, r, req); err != nil {
		return err
	}
	if err := s.checkModel(*model); err != nil {
		return err
	}
	if s.o.Tokenizer == nil {
		return noTokenizer(param)
	}
	return nil
}

// decode reads and parses a JSON request body.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) error {
	data, err := readBody(w, r, s.o.MaxBody)
	if err != nil {
		return err
	}
	return parseJSON(data, v)
}
