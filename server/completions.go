package server

import (
	"net/http"
	"time"

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
type completionResponse struct {
	ID      string             `json:"id"`
	Object  string             `json:"object"`
	Created int64              `json:"created"`
	Model   string             `json:"model"`
	Choices []completionChoice `json:"choices"`
	Usage   *usage             `json:"usage,omitempty"`
}

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
	var req completionRequest
	if err := s.decode(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	j, err := s.completionJob(&req)
	if err != nil {
		writeError(w, err)
		return
	}
	ctx := r.Context()
	release, err := s.admit(ctx, j)
	if err != nil {
		writeError(w, err)
		return
	}
	defer release()
	resp := completionResponse{ID: "cmpl-" + stats(ctx).id, Object: "text_completion", Created: time.Now().Unix(), Model: s.o.ModelName}
	u := newUsage(j.prune)
	defer u.record(ctx)
	if req.Stream {
		s.streamCompletions(w, r, j, resp, u, req.StreamOptions != nil && req.StreamOptions.IncludeUsage)
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
}

// streamCompletions sends the choices as server-sent events: the echoed
// prompt, then text as it is generated, then a chunk with the finish
// reason (and the logprobs of every token, when asked), for each prompt in
// turn; then the usage when asked, then [DONE].
func (s *Server) streamCompletions(w http.ResponseWriter, r *http.Request, j *job, head completionResponse, u *usage, withUsage bool) {
	ctx := r.Context()
	out := newSSE(w)
	chunk := func(c completionChoice) error {
		msg := head
		msg.Choices = []completionChoice{c}
		return out.send(msg)
	}
	for i := range j.prompts {
		if j.echo {
			if err := chunk(completionChoice{Text: s.echoText(j, i), Index: i}); err != nil {
				return
			}
		}
		res, err := s.run(ctx, j, i, func(text string) error {
			return chunk(completionChoice{Text: text, Index: i})
		})
		if err != nil {
			if !clientGone(ctx) {
				out.fail(err)
			}
			return
		}
		u.add(res)
		fr := res.FinishReason
		if err := chunk(completionChoice{Index: i, Logprobs: s.completionLogprobs(j, i, res), FinishReason: &fr}); err != nil {
			return
		}
	}
	if withUsage {
		msg := head
		msg.Choices = []completionChoice{}
		msg.Usage = u
		if err := out.send(msg); err != nil {
			return
		}
	}
	_ = out.done()
}
