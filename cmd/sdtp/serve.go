package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/sdtp/sdtp/chat"
	"github.com/sdtp/sdtp/server"
	"github.com/sdtp/sdtp/session"
)

func runServe(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "serve", "serve --model M [--tokenizer T] [--prune-module F --prune P] [--addr 127.0.0.1:8080] [--api-key K] [flags]")
	so, pf := registerModel(fs, "")
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on (host:port)")
	name := fs.String("served-model-name", "", "model id clients send and /v1/models lists (default: the model's name, e.g. its folder name)")
	apiKey := fs.String("api-key", "", "require \"Authorization: Bearer KEY\" on every endpoint but /health (default: $SDTP_API_KEY; empty: no key)")
	maxConcurrent := fs.Int("max-concurrent", 1, "generations running at once (they share the backend, which runs one op at a time; default: --max-batch)")
	bf := registerBatch(fs, "max-batch", "requests that decode together, one model step for all (continuous batching; 1: each request on its own)")
	queue := fs.Int("queue", 64, "requests waiting for a slot beyond --max-concurrent; more get 429 with Retry-After")
	maxBody := fs.Int64("max-body", 32<<20, "largest request body in bytes (413 above)")
	readTimeout := fs.Duration("read-timeout", 30*time.Second, "how long a client may take to send a whole request, headers and body (408 after; answers may take longer)")
	maxConns := fs.Int("max-connections", 512, "connections open at once, idle keep-alive ones included; more are answered 503 and closed")
	scoreTail := fs.Int("score-tail", 0, "with pruning, the last N tokens of each prompt of a request that scores its prompt (echo with logprobs: lm-eval's loglikelihood and multiple-choice tasks) are its continuation: never pruned, their logprobs those of teacher-forced decoding after a pruned prefill of the rest; set it to the longest continuation in tokens (0: the whole prompt is pruned as any other; a request may say \"sdtp\": {\"score_tail\": N})")
	maxContext := fs.Int("max-context", 0, "largest prompt plus max_tokens in tokens (400 above; 0: the model's max positions)")
	tmplName := fs.String("chat-template", "", "chat template instead of the one detected from tokenizer_config.json: "+strings.Join(chat.Names(), ", "))
	shutdown := fs.Duration("shutdown-timeout", 10*time.Minute, "on SIGINT/SIGTERM, how long to let running and queued requests finish; then they are cancelled and answered 503 (a stream: an error event and [DONE]); a second signal exits at once")
	logFormat := fs.String("log-format", "text", "log format on stderr: text or json")
	hf := registerH2O(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	kv, err := hf.budget()
	if err != nil {
		return err
	}
	if err := bf.check(); err != nil {
		return err
	}
	if !flagSet(fs, "max-concurrent") {
		*maxConcurrent = bf.size
	}
	switch {
	case *maxConcurrent < 1:
		return fmt.Errorf("--max-concurrent %d must be at least 1", *maxConcurrent)
	case *queue < 0:
		return fmt.Errorf("--queue %d must not be negative", *queue)
	case *maxBody < 1:
		return fmt.Errorf("--max-body %d must be positive", *maxBody)
	case *readTimeout <= 0:
		return fmt.Errorf("--read-timeout %v must be positive", *readTimeout)
	case *maxConns < 1:
		return fmt.Errorf("--max-connections %d must be at least 1", *maxConns)
	case *maxContext < 0:
		return fmt.Errorf("--max-context %d must not be negative", *maxContext)
	case *scoreTail < 0:
		return fmt.Errorf("--score-tail %d must not be negative", *scoreTail)
	case *shutdown <= 0:
		return fmt.Errorf("--shutdown-timeout %v must be positive", *shutdown)
	}
	var logger *slog.Logger
	switch *logFormat {
	case "text":
		logger = slog.New(slog.NewTextHandler(e.stderr, nil))
	case "json":
		logger = slog.New(slog.NewJSONHandler(e.stderr, nil))
	default:
		return fmt.Errorf("--log-format %q: want text or json", *logFormat)
	}
	if *apiKey == "" {
		*apiKey = os.Getenv("SDTP_API_KEY")
	}
	queueLen := *queue
	if queueLen == 0 {
		queueLen = -1 // server.Options: negative means no queue
	}

	sess, err := session.Open(*so)
	if err != nil {
		return err
	}
	defer sess.Close()
	b, m, tok := sess.B, sess.M, sess.Tok
	pr, err := sess.Pruners(*pf)
	if err != nil {
		return err
	}
	defer pr.Close()

	o := server.Options{
		ModelName:       *name,
		APIKey:          *apiKey,
		MaxConcurrent:   *maxConcurrent,
		Queue:           queueLen,
		MaxBody:         *maxBody,
		ReadTimeout:     *readTimeout,
		MaxConnections:  *maxConns,
		MaxContext:      *maxContext,
		ScoreTail:       *scoreTail,
		ShutdownTimeout: *shutdown,
		Logger:          logger,
		DefaultH2O:      kv,
	}
	if o.ModelName == "" {
		o.ModelName = m.Config.Name
	}
	if tok != nil {
		o.Tokenizer = tok
		tmpl, err := sess.ChatTemplate(*tmplName)
		switch {
		case err == nil:
			o.Chat = func(msgs []server.Message) (string, error) { return tmpl.Render(msgs, true) }
			o.ChatTemplate = sess.ChatTemplateSource()
		case *tmplName != "":
			return err
		default:
			logger.Warn("chat completions disabled", "reason", err.Error())
		}
	} else {
		logger.Warn("no tokenizer: prompts must be token ids and output text renders ids as <id:N>; give --tokenizer for text")
	}
	if pr.Enabled() {
		o.Pruners = pr.Get
		o.DefaultPrune = pr.DefaultName()
		if _, err := pr.Get(o.DefaultPrune); err != nil {
			if pf.Preset != "" {
				return fmt.Errorf("--prune: %w", err)
			}
			return err
		}
	}
	var eng server.Engine = &server.ModelEngine{Model: m, StopIDs: sess.StopIDs()}
	bt, err := bf.batcher(m)
	if err != nil {
		return err
	}
	if bt != nil {
		defer bt.Close()
		eng = &server.BatchEngine{Batcher: bt, StopIDs: sess.StopIDs()}
		logger.Info("continuous batching", "max_batch", bf.size, "kv_budget_bytes", bt.Options().KVBudget)
		if *maxConcurrent < bf.size {
			logger.Warn("--max-concurrent is below --max-batch: batches never fill", "max_concurrent", *maxConcurrent, "max_batch", bf.size)
		}
	}
	s, err := server.New(eng, o)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("--addr: %w", err)
	}
	if host, _, err := net.SplitHostPort(*addr); err == nil && o.APIKey == "" {
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			logger.Warn("listening beyond loopback without an API key", "addr", *addr)
		}
	}
	logger.Info("model loaded", "model", o.ModelName, "backend", b.Name()+" ("+b.Device()+")", "layers", m.Config.Layers, "max_positions", m.Config.MaxPos)
	defer context.AfterFunc(ctx, func() {
		logger.Info("stop requested: finishing requests (up to --shutdown-timeout); a second SIGINT/SIGTERM exits at once")
	})()
	return s.Serve(ctx, ln)
}
