package generate

import "math"

// Summary is a generation as 'sdtp generate --json' prints it.
type Summary struct {
	Model          string     `json:"model"`
	Backend        string     `json:"backend"`
	Text           string     `json:"text"`
	TokenIDs       []int      `json:"token_ids"`
	PromptTokens   int        `json:"prompt_tokens"`
	FinishReason   string     `json:"finish_reason"`
	PrefillSeconds float64    `json:"prefill_seconds"`
	DecodeSeconds  float64    `json:"decode_seconds"`
	Alive          []int      `json:"alive_tokens_per_layer,omitempty"`
	KVTokens       []int      `json:"kv_tokens_per_layer,omitempty"`
	KVBytes        []int64    `json:"kv_bytes_per_layer,omitempty"`
	H2O            *H2OResult `json:"h2o,omitempty"`
	// Logprobs holds each new token's log-probability; null where it is not
	// finite (NaN logits), which JSON cannot write.
	Logprobs []*float64 `json:"logprobs,omitempty"`
}

// Summary describes r for the model and backend named; the tokens alive
// per layer only when the prompt was pruned. nonFinite counts the
// logprobs left null.
func (r *Result) Summary(model, backend string, pruned bool) (s Summary, nonFinite int) {
	s = Summary{
		Model: model, Backend: backend, Text: r.Text, TokenIDs: r.IDs(), PromptTokens: r.PromptTokens, FinishReason: r.FinishReason,
		PrefillSeconds: r.PrefillSeconds, DecodeSeconds: r.DecodeSeconds, KVTokens: r.KVTokens, KVBytes: r.KVBytes, H2O: r.H2O,
	}
	if pruned {
		s.Alive = r.Alive
	}
	for _, t := range r.Tokens {
		lp := t.Logprob
		if math.IsNaN(lp) || math.IsInf(lp, 0) {
			s.Logprobs = append(s.Logprobs, nil)
			nonFinite++
			continue
		}
		s.Logprobs = append(s.Logprobs, &lp)
	}
	return s, nonFinite
}
