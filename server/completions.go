package server

import (
	"context"
	"net/http"

	"github.com/sdtp/sdtp/generate"
)

// completionChoice is one choice of a completions response or chunk.
type completionChoice struct {
	Text         string          `json:"text"`
	Index        int             `json:"index"`
	Logprobs     *legacyLogprobs `json:"logprobs"`
	FinishReason *string         `json:"finish_reason"`
}

// completionResponse is the body of a completions response, and of each
// streamed chunk.
type completionResponse = response[completionChoice]

// completionJob validates a completions request and its prompts.
func (s *Server) completionJob(req *completionRequest) (*job, error) {
	j, err := s.newJob(&req.commonParams)
	if err != nil {
		return nil, err
	}
	if req.MaxTokens == nil {
		j.maxTokens = 16 // OpenAI's default for completions
	}
	if req.BestOf != nil && *req.BestOf != 1 {
		return nil, badRequest("best_of", "only best_of=1 is supported, got %d", *req.BestOf)
	}
	if req.Suffix != nil && *req.Suffix != "" {
		return nil, badRequest("suffix", "suffix is not supported")
	}
	if lp := req.Logprobs; lp != nil {
		if *lp < 0 || *lp > maxLogprobs {
			return nil, badRequest("logprobs", "logprobs %d must be in [0, %d]", *lp, maxLogprobs)
		}
		j.logprobs, j.top = true, *lp
	}
	j.echo = req.Echo
	in, err := parsePrompt(req.Prompt)
	if err != nil {
		return nil, err
	}
	if in.len() > s.o.MaxPrompts {
		return nil, badRequest("prompt", "%d prompts in one request; the limit is %d", in.len(), s.o.MaxPrompts)
	}
	j.prompts, j.texts, j.param = in.ids, in.texts, "prompt"
	check := s.checkPrompts
	if j.texts != nil {
		check = s.checkTexts // they are tokenized once admitted
	}
	if err := check(j); err != nil {
		return nil, err
	}
	if err := s.setPrune(j, req.SDTP, j.echo && j.logprobs); err != nil {
		return nil, err
	}
	if err := s.setH2O(j, req.SDTP); err != nil {
		return nil, err
	}
	return j, nil
}

// echoText is the prompt as echoed: the text sent, or the decoded ids.
func (s *Server) echoText(j *job, i int) string {
	if j.texts != nil {
		return j.texts[i]
	}
	return s.decoder().Decode(j.prompts[i])
}

// completionLogprobs builds the legacy logprobs of prompt i's result: the
// prompt tokens first with echo, then the generated ones.
func (s *Server) completionLogprobs(j *job, i int, res *generate.Result) *legacyLogprobs {
	if !j.logprobs {
		return nil
	}
	dec := s.decoder()
	lp := &legacyLogprobs{Tokens: []string{}, TokenLogprobs: []*float64{}, TopLogprobs: []map[string]float64{}, TextOffset: []int{}}
	off := 0
	if j.echo {
		pieces := tokenPieces(dec, j.prompts[i])
		appendLegacy(lp, res.PromptLogprobs, pieces, 0, dec)
		off = len(s.echoText(j, i))
	}
	appendLegacy(lp, res.Tokens, tokenPieces(dec, res.IDs()), off, dec)
	return lp
}

func (s *Server) handleCompletions(w http.ResponseWriter, r *http.Request) {
	serveGeneration(s, w, r, "cmpl-", "text_completion", s.completionJob, func(ctx context.Context, req *completionRequest, j *job, resp completionResponse, u *usage) {
		if req.Stream {
			s.streamCompletions(ctx, w, j, resp, u, req.StreamOptions != nil && req.StreamOptions.IncludeUsage)
			return
		}
		for i := range j.prompts {
			res, err := s.run(ctx, j, i, nil)
			if err != nil {
				writeError(w, err)
				return
			}
			u.add(res)
			text := res.Text
			if j.echo {
				text = s.echoText(j, i) + text
			}
			fr := res.FinishReason
			resp.Choices = append(resp.Choices, completionChoice{Text: text, Index: i, Logprobs: s.completionLogprobs(j, i, res), FinishReason: &fr})
		}
		resp.Usage = u
		writeJSON(w, http.StatusOK, resp)
	})
}

// streamCompletions sends the choices as server-sent events: the echoed
// prompt, then text as it is generated, then a chunk with the finish
// reason (and the logprobs of every token, when asked), for each prompt in
// turn; then the usage when asked, then [DONE].
func (s *Server) streamCompletions(ctx context.Context, w http.ResponseWriter, j *job, head completionResponse, u *usage, withUsage bool) {
	out := newSSE(w)
	for i := range j.prompts {
		if j.echo {
			if err := sendChoice(out, head, completionChoice{Text: s.echoText(j, i), Index: i}); err != nil {
				return
			}
		}
		res, err := s.run(ctx, j, i, func(text string) error {
			return sendChoice(out, head, completionChoice{Text: text, Index: i})
		})
		if err != nil {
			streamFailed(ctx, out, err)
			return
		}
		u.add(res)
		fr := res.FinishReason
		if err := sendChoice(out, head, completionChoice{Index: i, Logprobs: s.completionLogprobs(j, i, res), FinishReason: &fr}); err != nil {
			return
		}
	}
	endStream(out, head, u, withUsage)
}
