// Package server speaks the OpenAI HTTP API on top of the sdtp engine, so
// that lm-evaluation-harness (local-completions, local-chat-completions),
// the official OpenAI SDKs and any other client can drive a model, with or
// without SDTP pruning.
//
// Endpoints: GET /health, GET /v1/models, POST /v1/completions (prompts as
// text, lists of text, token ids or lists of token ids; echo; legacy
// logprobs; server-sent events), POST /v1/chat/completions (the model's chat
// template, streaming or not), and the tokenizer endpoints lm-eval's remote
// tokenizer reads: GET /tokenizer_info, POST /tokenize, POST /detokenize.
//
// Pruning is chosen per request: the server's default schedule, or the
// request's "sdtp": {"prune": "off" | PRESET}. A request that scores its
// prompt (echo with logprobs, as lm-eval's loglikelihood and
// multiple-choice requests do) is pruned too: the last ScoreTail tokens of
// each prompt (or the request's "sdtp": {"score_tail": N}) are the
// continuation being scored, never pruned, and their logprobs are those of
// teacher-forced decoding after a pruned prefill of the tokens before
// them; the tokens before the tail get null logprobs (with no tail, the
// tokens whose preceding row was pruned do). Decoding may keep an H2O KV
// budget (package h2o): the server's default, or the request's "sdtp":
// {"h2o_budget": "off" | 0.4 | 1024, "h2o_recent": ...}.
// usage.sdtp and the access log say what ran: schedule, score tail, null
// prompt logprobs, tokens alive per block, H2O budget and the tokens it
// evicted.
//
// Against slow or abusive clients: a request must arrive within
// ReadTimeout, at most MaxConnections connections stay open (Serve answers
// the others 503), the API key is checked from the headers before any body
// is read, and text prompts are refused from their length in bytes when
// they cannot fit the context, else tokenized only under admission. On
// shutdown, requests left when ShutdownTimeout expires get 503 (streams an
// error event).
//
// The server holds no model itself: it drives an Engine, which ModelEngine
// implements over a model.Model; tests use a fake one.
package server
