package server

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// routes builds the endpoint table wrapped in recovery, access logging and
// authentication.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/health", s.method(http.MethodGet, s.handleHealth))
	mux.HandleFunc("/v1/models", s.method(http.MethodGet, s.handleModels))
	mux.HandleFunc("/v1/models/{id...}", s.method(http.MethodGet, s.handleModel))
	mux.HandleFunc("/v1/completions", s.method(http.MethodPost, s.handleCompletions))
	mux.HandleFunc("/v1/chat/completions", s.method(http.MethodPost, s.handleChat))
	mux.HandleFunc("/tokenizer_info", s.method(http.MethodGet, s.handleTokenizerInfo))
	mux.HandleFunc("/tokenize", s.method(http.MethodPost, s.handleTokenize))
	mux.HandleFunc("/detokenize", s.method(http.MethodPost, s.handleDetokenize))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, newError(http.StatusNotFound, typeNotFound, "not_found", "no endpoint %s %s", r.Method, r.URL.Path))
	})
	return s.recoverer(s.accessLog(s.auth(mux)))
}

// method answers other methods than m with 405.
func (s *Server) method(m string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != m && !(m == http.MethodGet && r.Method == http.MethodHead) {
			w.Header().Set("Allow", m)
			writeError(w, newError(http.StatusMethodNotAllowed, typeInvalidRequest, "method_not_allowed", "%s %s is not supported; use %s", r.Method, r.URL.Path, m))
			return
		}
		h(w, r)
	}
}

// auth checks the Bearer API key when one is set; /health stays open. It
// reads only the headers: a refused request's body is never read, and its
// connection is closed after the answer rather than drained.
func (s *Server) auth(next http.Handler) http.Handler {
	if s.o.APIKey == "" {
		return next
	}
	want := []byte("Bearer " + s.o.APIKey)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			next.ServeHTTP(w, r)
			return
		}
		var e *apiError
		switch got := r.Header.Get("Authorization"); {
		case got == "":
			e = newError(http.StatusUnauthorized, typeAuthentication, "missing_api_key", "missing API key: send the header \"Authorization: Bearer KEY\"")
		case subtle.ConstantTimeCompare([]byte(got), want) != 1:
			e = newError(http.StatusUnauthorized, typeAuthentication, "invalid_api_key", "incorrect API key provided")
		default:
			next.ServeHTTP(w, r)
			return
		}
		if r.ContentLength != 0 {
			w.Header().Set("Connection", "close") // rather than drain the body
		}
		writeError(w, e)
	})
}

// reqStats are filled in by handlers and written to the access log.
type reqStats struct {
	id               string
	promptTokens     int
	completionTokens int
	sdtp             *sdtpUsage // what a generation ran (schedule, alive tokens, H2O)
	queued           time.Duration
}

type statsKey struct{}

// stats returns the request's stats record (a throwaway one outside the
// access log middleware).
func stats(ctx context.Context) *reqStats {
	if st, ok := ctx.Value(statsKey{}).(*reqStats); ok {
		return st
	}
	return &reqStats{id: newID()}
}

// newID returns 24 random hex digits.
func newID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// statusWriter records the status and size of a response; Unwrap lets
// http.ResponseController reach the flusher underneath.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// accessLog writes one line per request: method, path, status, latency,
// token counts, what pruning ran (schedule, tokens alive per block, a
// scored prompt's continuation), the H2O budget and its evictions, and
// queueing time.
func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		st := &reqStats{id: newID()}
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), statsKey{}, st)))
		level := slog.LevelInfo
		if sw.status >= 500 {
			level = slog.LevelError
		}
		attrs := []slog.Attr{
			slog.String("id", st.id),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", sw.status),
			slog.Float64("latency_ms", float64(time.Since(start).Microseconds())/1000),
			slog.Int64("bytes", sw.bytes),
			slog.String("remote", r.RemoteAddr),
		}
		if st.promptTokens > 0 || st.completionTokens > 0 {
			attrs = append(attrs, slog.Int("prompt_tokens", st.promptTokens), slog.Int("completion_tokens", st.completionTokens))
		}
		if sd := st.sdtp; sd != nil {
			attrs = append(attrs, slog.String("prune", sd.Prune))
			if sd.Schedule != "" {
				attrs = append(attrs, slog.String("schedule", sd.Schedule))
			}
			if sd.Prune != "off" {
				attrs = append(attrs, slog.Any("alive_per_layer", sd.AlivePerLayer))
			}
			if sd.ScoreTail != nil {
				attrs = append(attrs, slog.Int("score_tail", *sd.ScoreTail), slog.Int("unscored_prompt_tokens", *sd.UnscoredPromptTokens))
			}
			if sd.H2O != "" {
				attrs = append(attrs, slog.String("h2o", sd.H2O), slog.Int("kv_evicted", sd.KVEvicted))
			}
		}
		if st.queued > 0 {
			attrs = append(attrs, slog.Float64("queued_ms", float64(st.queued.Microseconds())/1000))
		}
		if r.Context().Err() != nil {
			attrs = append(attrs, slog.Bool("client_gone", true))
		}
		s.log.LogAttrs(r.Context(), level, "request", attrs...)
	})
}

// recoverer turns a panic in a handler into a logged 500, so a bug cannot
// take the server down.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic in handler", "path", r.URL.Path, "panic", fmt.Sprint(v))
				writeError(w, newError(http.StatusInternalServerError, typeServer, "internal_error", "internal error"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}
