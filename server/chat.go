package server

import (
	"context"
	"fmt"
	"net/http"

	"github.com/sdtp/sdtp/generate"
)

// chatChoice is one choice of a chat response or chunk: Message in a
// response, Delta in a chunk.
type chatChoice struct {
	Index        int           `json:"index"`
	Message      *chatOut      `json:"message,omitempty"`
	Delta        *chatOut      `json:"delta,omitempty"`
	Logprobs     *chatLogprobs `json:"logprobs"`
	FinishReason *string       `json:"finish_reason"`
}

// chatOut is an assistant message or a streamed piece of one.
type chatOut struct {
	Role    string  `json:"role,omitempty"`
	Content *string `json:"content,omitempty"`
}

type chatResponse = response[chatChoice]

// chatRoles are the message roles the templates know; "developer" is
// OpenAI's newer name for "system".
var chatRoles = map[string]string{"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}

// chatJob validates a chat request and renders its prompt.
func (s *Server) chatJob(req *chatRequest) (*job, error) {
	j, err := s.newJob(&req.commonParams)
	if err != nil {
		return nil, err
	}
	if req.MaxCompletionTokens != nil {
		if *req.MaxCompletionTokens < 0 {
			return nil, badRequest("max_completion_tokens", "max_completion_tokens %d must not be negative", *req.MaxCompletionTokens)
		}
		j.maxTokens = *req.MaxCompletionTokens
	}
	if req.Logprobs != nil && *req.Logprobs {
		j.logprobs = true
	}
	if tl := req.TopLogprobs; tl != nil {
		switch {
		case *tl < 0 || *tl > maxLogprobs:
			return nil, badRequest("top_logprobs", "top_logprobs %d must be in [0, %d]", *tl, maxLogprobs)
		case *tl > 0 && !j.logprobs:
			return nil, badRequest("top_logprobs", "top_logprobs needs logprobs: true")
		}
		j.top = *tl
	}
	if len(req.Messages) == 0 {
		return nil, badRequest("messages", "messages must be a non-empty list")
	}
	msgs := make([]Message, len(req.Messages))
	for i, m := range req.Messages {
		role, ok := chatRoles[m.Role]
		if !ok {
			return nil, badRequest(fmt.Sprintf("messages[%d].role", i), "role %q is not supported (system, developer, user, assistant)", m.Role)
		}
		content, err := parseContent(m.Content, i)
		if err != nil {
			return nil, err
		}
		msgs[i] = Message{Role: role, Content: content}
	}
	if s.o.Tokenizer == nil {
		return nil, noTokenizer("messages")
	}
	if s.o.Chat == nil {
		return nil, badRequestCode("messages", "no_chat_template", "this model has no chat template; use /v1/completions")
	}
	text, err := s.o.Chat(msgs)
	if err != nil {
		return nil, badRequest("messages", "chat template: %v", err)
	}
	j.texts, j.rendered, j.param = []string{text}, true, "messages"
	if err := s.checkTexts(j); err != nil { // tokenized once admitted
		return nil, err
	}
	if err := s.setPrune(j, req.SDTP, false); err != nil {
		return nil, err
	}
	if err := s.setH2O(j, req.SDTP); err != nil {
		return nil, err
	}
	return j, nil
}

func (s *Server) handleChat(w http.ResponseWriter, r *http.Request) {
	serveGeneration(s, w, r, "chatcmpl-", "chat.completion", s.chatJob, func(ctx context.Context, req *chatRequest, j *job, head chatResponse, u *usage) {
		if req.Stream {
			s.streamChat(ctx, w, j, head, u, req.StreamOptions != nil && req.StreamOptions.IncludeUsage)
			return
		}
		res, err := s.run(ctx, j, 0, nil)
		if err != nil {
			writeError(w, err)
			return
		}
		u.add(res)
		fr := res.FinishReason
		text := res.Text
		head.Choices = []chatChoice{{Message: &chatOut{Role: "assistant", Content: &text}, Logprobs: s.chatLogprobs(j, res), FinishReason: &fr}}
		head.Usage = u
		writeJSON(w, http.StatusOK, head)
	})
}

func (s *Server) chatLogprobs(j *job, res *generate.Result) *chatLogprobs {
	if !j.logprobs {
		return nil
	}
	dec := s.decoder()
	return newChatLogprobs(res.Tokens, tokenPieces(dec, res.IDs()), dec)
}

// streamChat sends the reply as chat.completion.chunk events: the role
// first, then content as it is generated, then the finish reason (with the
// logprobs of every token, when asked), the usage when asked, and [DONE].
func (s *Server) streamChat(ctx context.Context, w http.ResponseWriter, j *job, head chatResponse, u *usage, withUsage bool) {
	out := newSSE(w)
	head.Object = "chat.completion.chunk"
	empty := ""
	if err := sendChoice(out, head, chatChoice{Delta: &chatOut{Role: "assistant", Content: &empty}}); err != nil {
		return
	}
	res, err := s.run(ctx, j, 0, func(text string) error {
		return sendChoice(out, head, chatChoice{Delta: &chatOut{Content: &text}})
	})
	if err != nil {
		streamFailed(ctx, out, err)
		return
	}
	u.add(res)
	fr := res.FinishReason
	if err := sendChoice(out, head, chatChoice{Delta: &chatOut{}, Logprobs: s.chatLogprobs(j, res), FinishReason: &fr}); err != nil {
		return
	}
	endStream(out, head, u, withUsage)
}
