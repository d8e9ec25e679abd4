package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/sdtp/sdtp/h2o"
	"github.com/sdtp/sdtp/model"
)

// ChatFunc renders chat messages with the model's chat template, ending
// with the prompt for the assistant's reply.
type ChatFunc func(msgs []Message) (string, error)

// PrunerFunc builds the pruner for a schedule name (a preset, or "default"
// for the server's own schedule). The pruner may be shared by concurrent
// requests.
type PrunerFunc func(name string) (model.Pruner, error)

// Options configure a Server. Zero values take the defaults noted.
type Options struct {
	// ModelName is the model id clients name; requests naming another get 404.
	ModelName string
	// Tokenizer turns text into ids and back; nil serves token-id prompts
	// only, rendering output tokens as "<id:N>".
	Tokenizer Tokenizer
	// Chat renders chat messages; nil answers chat requests with 400.
	Chat ChatFunc
	// ChatTemplate is the template's source text, reported by /tokenizer_info.
	ChatTemplate string
	// Pruners builds pruners by schedule name; nil: no pruning available.
	Pruners PrunerFunc
	// DefaultPrune is the schedule requests get when they name none: "" or
	// "off" for none, else a name Pruners accepts.
	DefaultPrune string
	// ScoreTail is the continuation of a request that scores its prompt
	// (echo with logprobs: lm-eval's loglikelihood and multiple-choice
	// requests) under pruning, unless the request says "sdtp":
	// {"score_tail": N}: the last ScoreTail tokens of each prompt are never
	// pruned and their logprobs are those of teacher-forced decoding after
	// a pruned prefill of the tokens before them (generate.Request's
	// Continuation). 0 prunes the whole prompt as any other.
	ScoreTail int
	// DefaultH2O is the H2O KV budget requests get unless their
	// "sdtp.h2o_budget" says otherwise (nil: none).
	DefaultH2O *h2o.Budget
	// APIKey, when set, must be sent as "Authorization: Bearer KEY".
	APIKey string
	// MaxConcurrent generations run at once (default 1); Queue more wait
	// (0: the default 64; negative: none) and the rest get 429.
	MaxConcurrent int
	Queue         int
	// MaxBody bounds the request body in bytes (default 32 MiB).
	MaxBody int64
	// ReadTimeout bounds the time a client may take to send a whole
	// request, headers and body (default 30 s); a body late past it gets
	// 408 and the connection is closed. (net/http lifts the deadline once
	// the body is in, so it does not limit how long an answer may take.)
	ReadTimeout time.Duration
	// MaxConnections bounds the connections open at once, idle keep-alive
	// ones included (default 512); Serve answers those beyond it 503 and
	// closes them.
	MaxConnections int
	// MaxContext bounds prompt plus new tokens (default: the model's MaxPos).
	MaxContext int
	// MaxPrompts bounds the prompts of one completions request (default 256).
	MaxPrompts int
	// RetryAfter is the Retry-After value of a 429, in seconds (default 1).
	RetryAfter int
	// ShutdownTimeout bounds how long Serve waits for in-flight and queued
	// requests after its context ends (default 10 minutes); then it cancels
	// them: each gets 503, or when streaming an error event and [DONE],
	// and Serve waits at most shutdownGrace more for those answers.
	ShutdownTimeout time.Duration
	// Logger receives access and lifecycle logs (default: discarded).
	Logger *slog.Logger
}

// Server answers the OpenAI API for one engine.
type Server struct {
	eng      Engine
	info     EngineInfo
	o        Options
	adm      *admission
	tokAdm   *admission // bounds /tokenize as adm bounds generations
	log      *slog.Logger
	created  int64
	handler  http.Handler
	stopping atomic.Bool
}

// New makes a server for eng.
func New(eng Engine, o Options) (*Server, error) {
	if eng == nil {
		return nil, fmt.Errorf("server: no engine")
	}
	if o.MaxConcurrent == 0 {
		o.MaxConcurrent = 1
	}
	switch {
	case o.Queue == 0:
		o.Queue = 64
	case o.Queue < 0:
		o.Queue = 0
	}
	if o.MaxBody == 0 {
		o.MaxBody = 32 << 20
	}
	if o.ReadTimeout == 0 {
		o.ReadTimeout = 30 * time.Second
	}
	if o.MaxConnections == 0 {
		o.MaxConnections = 512
	}
	if o.MaxPrompts == 0 {
		o.MaxPrompts = 256
	}
	if o.RetryAfter == 0 {
		o.RetryAfter = 1
	}
	if o.ShutdownTimeout == 0 {
		o.ShutdownTimeout = 10 * time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case o.ModelName == "":
		return nil, fmt.Errorf("server: the model name is empty")
	case o.MaxConcurrent < 1:
		return nil, fmt.Errorf("server: max concurrent %d must be at least 1", o.MaxConcurrent)
	case o.MaxBody < 1:
		return nil, fmt.Errorf("server: max body %d must be positive", o.MaxBody)
	case o.ReadTimeout < 0:
		return nil, fmt.Errorf("server: read timeout %v must be positive", o.ReadTimeout)
	case o.MaxConnections < 0:
		return nil, fmt.Errorf("server: max connections %d must be positive", o.MaxConnections)
	case o.ScoreTail < 0:
		return nil, fmt.Errorf("server: score tail %d must not be negative", o.ScoreTail)
	case o.MaxContext < 0:
		return nil, fmt.Errorf("server: max context %d must not be negative", o.MaxContext)
	case o.DefaultPrune != "" && o.DefaultPrune != "off" && o.Pruners == nil:
		return nil, fmt.Errorf("server: default schedule %q but no pruners", o.DefaultPrune)
	}
	if o.DefaultH2O != nil {
		if err := o.DefaultH2O.Check(); err != nil {
			return nil, fmt.Errorf("server: default H2O %w", err)
		}
	}
	info := eng.Info()
	if info.MaxPos > 0 && (o.MaxContext == 0 || o.MaxContext > info.MaxPos) {
		o.MaxContext = info.MaxPos
	}
	s := &Server{eng: eng, info: info, o: o, adm: newAdmission(o.MaxConcurrent, o.Queue), tokAdm: newAdmission(o.MaxConcurrent, o.Queue), log: o.Logger, created: time.Now().Unix()}
	s.handler = s.routes()
	return s, nil
}

// Handler returns the HTTP handler of every endpoint.
func (s *Server) Handler() http.Handler { return s.handler }

// errShuttingDown is the cause of the requests' cancellation when the
// shutdown timeout expires.
var errShuttingDown = errors.New("the server is shutting down")

// shutdownGrace bounds the wait for the answers of the requests cancelled
// when the shutdown timeout expires.
const shutdownGrace = 5 * time.Second

// Serve answers requests on ln, at most MaxConnections connections at once,
// until ctx ends, then shuts down gracefully:
// it stops accepting connections, lets in-flight and queued requests finish
// (at most ShutdownTimeout, after which their work is cancelled and they
// are answered 503), and returns nil. Any other failure of the listener is
// returned.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	work, cancelWork := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancelWork(nil)
	hs := &http.Server{
		Handler:     s.handler,
		ReadTimeout: s.o.ReadTimeout,
		IdleTimeout: 2 * time.Minute,
		BaseContext: func(net.Listener) context.Context { return work },
		ErrorLog:    slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(newConnLimit(ln, s.o.MaxConnections, s.log)) }()
	s.log.Info("serving", "addr", ln.Addr().String(), "model", s.o.ModelName, "max_concurrent", s.o.MaxConcurrent, "queue", s.o.Queue, "max_connections", s.o.MaxConnections, "prune", s.pruneName(s.o.DefaultPrune), "score_tail", s.o.ScoreTail, "h2o", h2oName(s.o.DefaultH2O))
	select {
	case err := <-errc:
		return fmt.Errorf("serving on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	s.stopping.Store(true)
	running, waiting := s.adm.load()
	s.log.Info("shutting down: finishing in-flight requests", "running", running, "waiting", waiting, "timeout", s.o.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), s.o.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		running, waiting := s.adm.load()
		s.log.Warn("shutdown timeout: cancelling the remaining requests", "running", running, "waiting", waiting)
		cancelWork(errShuttingDown)
		// The handlers now answer 503 or end their streams with an error
		// event; give them a moment to, then drop what is left.
		gctx, gcancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer gcancel()
		if err := hs.Shutdown(gctx); err != nil {
			hs.Close()
		}
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving on %s: %w", ln.Addr(), err)
	}
	s.log.Info("stopped")
	return nil
}

// pruneName is the name reported for a schedule.
func (s *Server) pruneName(name string) string {
	if name == "" {
		return "off"
	}
	return name
}
