package server

import (
	"context"
	"net/http"
	"time"
)

// response is the body of a completions or chat response, and of each
// streamed chunk; C is the endpoint's choice type.
type response[C any] struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	Model   string `json:"model"`
	Choices []C    `json:"choices"`
	Usage   *usage `json:"usage,omitempty"`
}

// serveGeneration is what the generation endpoints share: decode the
// request, validate it into a job, wait for a generation slot, and count
// the usage for the access log around answer. head is the response's
// header (id with its prefix, object, time, model); answer writes the
// response or the stream.
func serveGeneration[R any, C any](s *Server, w http.ResponseWriter, r *http.Request, idPrefix, object string, validate func(*R) (*job, error), answer func(ctx context.Context, req *R, j *job, head response[C], u *usage)) {
	var req R
	if err := s.decode(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	j, err := validate(&req)
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
	u := newUsage(j)
	defer u.record(ctx)
	answer(ctx, &req, j, response[C]{ID: idPrefix + stats(ctx).id, Object: object, Created: time.Now().Unix(), Model: s.o.ModelName}, u)
}

// sendChoice sends head with one choice as an event.
func sendChoice[C any](out *sse, head response[C], c C) error {
	head.Choices = []C{c}
	return out.send(head)
}

// streamFailed ends a stream on a failed generation (unless the client
// went away).
func streamFailed(ctx context.Context, out *sse, err error) {
	if !clientGone(ctx) {
		out.fail(err)
	}
}

// endStream sends the usage when asked, then [DONE].
func endStream[C any](out *sse, head response[C], u *usage, withUsage bool) {
	if withUsage {
		head.Choices, head.Usage = []C{}, u
		if err := out.send(head); err != nil {
			return
		}
	}
	_ = out.done()
}
