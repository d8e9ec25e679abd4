package server

import (
	"encoding/json"
	"net/http"
)

// sse writes server-sent events: one "data: JSON" event per chunk, and
// "data: [DONE]" at the end.
type sse struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	started bool
}

func newSSE(w http.ResponseWriter) *sse {
	return &sse{w: w, rc: http.NewResponseController(w)}
}

func (s *sse) start() {
	if s.started {
		return
	}
	s.started = true
	h := s.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	s.w.WriteHeader(http.StatusOK)
}

// send writes one event carrying v and flushes it to the client.
func (s *sse) send(v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.raw(data)
}

func (s *sse) raw(data []byte) error {
	s.start()
	buf := make([]byte, 0, len(data)+8)
	buf = append(buf, "data: "...)
	buf = append(buf, data...)
	buf = append(buf, "\n\n"...)
	if _, err := s.w.Write(buf); err != nil {
		return err
	}
	return s.rc.Flush()
}

// fail reports an error: as a JSON error response when nothing was sent
// yet, else as an error event followed by [DONE].
func (s *sse) fail(err error) {
	if !s.started {
		writeError(s.w, err)
		return
	}
	_ = s.send(struct {
		Error *apiError `json:"error"`
	}{asAPIError(err)})
	_ = s.done()
}

// done ends the stream.
func (s *sse) done() error { return s.raw([]byte("[DONE]")) }
