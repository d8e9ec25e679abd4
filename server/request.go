package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"strings"

	"github.com/sdtp/sdtp/chat"
)

// commonParams are the request fields completions and chat share.
type commonParams struct {
	Model            string             `json:"model"`
	MaxTokens        *int               `json:"max_tokens"`
	Temperature      *float64           `json:"temperature"`
	TopP             *float64           `json:"top_p"`
	TopK             *int               `json:"top_k"`
	Seed             *int64             `json:"seed"`
	Stop             json.RawMessage    `json:"stop"`
	Stream           bool               `json:"stream"`
	StreamOptions    *streamOptions     `json:"stream_options"`
	N                *int               `json:"n"`
	PresencePenalty  *float64           `json:"presence_penalty"`
	FrequencyPenalty *float64           `json:"frequency_penalty"`
	LogitBias        map[string]float64 `json:"logit_bias"`
	User             string             `json:"user"`
	// IgnoreEOS keeps generating past end-of-sequence tokens (a vLLM extension).
	IgnoreEOS bool `json:"ignore_eos"`
	// SDTP holds the sdtp extensions.
	SDTP *sdtpParams `json:"sdtp"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// sdtpParams is the request's "sdtp" object.
type sdtpParams struct {
	// Prune is "off", "default" (the server's schedule) or a preset name.
	Prune string `json:"prune"`
	// ScoreTail, for a request that scores its prompt (echo with
	// logprobs), is how many tokens at the end of each prompt are the
	// continuation being scored: pruning never touches them (Options.ScoreTail
	// when absent).
	ScoreTail *int `json:"score_tail"`
	// H2OBudget and H2ORecent choose the H2O KV budget of decoding
	// ("off", a fraction, a token count; see setH2O).
	H2OBudget json.RawMessage `json:"h2o_budget"`
	H2ORecent json.RawMessage `json:"h2o_recent"`
}

// completionRequest is the body of POST /v1/completions.
type completionRequest struct {
	commonParams
	Prompt   json.RawMessage `json:"prompt"`
	Echo     bool            `json:"echo"`
	Logprobs *int            `json:"logprobs"`
	BestOf   *int            `json:"best_of"`
	Suffix   *string         `json:"suffix"`
}

// chatRequest is the body of POST /v1/chat/completions.
type chatRequest struct {
	commonParams
	Messages            []chatMessage `json:"messages"`
	MaxCompletionTokens *int          `json:"max_completion_tokens"`
	Logprobs            *bool         `json:"logprobs"`
	TopLogprobs         *int          `json:"top_logprobs"`
}

// chatMessage is one message of a chat request; content is a string, null,
// or a list of {"type": "text", "text": ...} parts.
type chatMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
	Name    string          `json:"name"`
}

// Message is one chat message handed to the chat template (a chat
// package message, so a template renders it as is).
type Message = chat.Message

// Limits on request fields.
const (
	maxStops       = 16
	maxLogprobs    = 20
	maxTemperature = 2
)

// readBody reads the request body, at most limit bytes. A body that does
// not arrive within the server's read timeout gets 408, and the connection
// is closed.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, newError(http.StatusRequestEntityTooLarge, typeInvalidRequest, "request_too_large", "request body exceeds the server's limit of %d bytes", mbe.Limit)
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			w.Header().Set("Connection", "close")
			return nil, newError(http.StatusRequestTimeout, typeInvalidRequest, "request_timeout", "the request body did not arrive in time; send it at once")
		}
		return nil, badRequest("", "reading the request body: %v", err)
	}
	return data, nil
}

// parseJSON decodes one JSON object from data into v; errors name the
// offending field.
func parseJSON(data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return badRequest("", "the request body is empty; send a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("", "invalid JSON: unexpected data after the top-level object")
	}
	return nil
}

func jsonError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return badRequest("", "invalid JSON at byte %d: %v", se.Offset, se)
	case errors.As(err, &te):
		if te.Field == "" {
			return badRequest("", "the request body must be a JSON object, not %s", te.Value)
		}
		// Fields of the embedded commonParams are reported under its Go name.
		field := strings.TrimPrefix(te.Field, "commonParams.")
		return badRequest(field, "field %s: expected %s, got %s", field, jsonKind(te.Type.Kind().String()), te.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("", "invalid JSON: the body ends in the middle of a value")
	}
	return badRequest("", "invalid JSON: %v", err)
}

// jsonKind names a Go kind in JSON terms.
func jsonKind(k string) string {
	switch {
	case strings.HasPrefix(k, "int"), strings.HasPrefix(k, "uint"):
		return "an integer"
	case strings.HasPrefix(k, "float"):
		return "a number"
	case k == "bool":
		return "a boolean"
	case k == "string":
		return "a string"
	case k == "slice", k == "array":
		return "an array"
	case k == "map", k == "struct":
		return "an object"
	}
	return k
}

// isNull reports whether raw is absent or JSON null.
func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || bytes.Equal(t, []byte("null"))
}

// promptInput is a parsed completions prompt: either texts or token ids,
// one entry per choice.
type promptInput struct {
	texts []string
	ids   [][]int
}

func (p promptInput) len() int { return len(p.texts) + len(p.ids) }

// parsePrompt reads a prompt given as a string, a list of strings, a list of
// token ids, or a list of lists of token ids.
func parsePrompt(raw json.RawMessage) (promptInput, error) {
	if isNull(raw) {
		return promptInput{}, badRequest("prompt", "prompt is required")
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return promptInput{texts: []string{s}}, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return promptInput{}, badRequest("prompt", "prompt must be a string, a list of strings, a list of token ids, or a list of lists of token ids")
	}
	if len(items) == 0 {
		return promptInput{}, badRequest("prompt", "prompt is an empty list")
	}
	switch first := bytes.TrimSpace(items[0]); {
	case len(first) > 0 && first[0] == '"':
		texts := make([]string, len(items))
		for i, it := range items {
			if err := json.Unmarshal(it, &texts[i]); err != nil {
				return promptInput{}, badRequest("prompt", "prompt[%d]: expected a string like the first item", i)
			}
		}
		return promptInput{texts: texts}, nil
	case len(first) > 0 && first[0] == '[':
		lists := make([][]int, len(items))
		for i, it := range items {
			ids, err := parseIDList(it, fmt.Sprintf("prompt[%d]", i))
			if err != nil {
				return promptInput{}, err
			}
			if len(ids) == 0 {
				return promptInput{}, badRequest("prompt", "prompt[%d] is an empty list of token ids", i)
			}
			lists[i] = ids
		}
		return promptInput{ids: lists}, nil
	}
	ids, err := parseIDList(raw, "prompt")
	if err != nil {
		return promptInput{}, err
	}
	return promptInput{ids: [][]int{ids}}, nil
}

// parseIDList reads a JSON list of non-negative integer token ids.
func parseIDList(raw json.RawMessage, where string) ([]int, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, badRequest("prompt", "%s: expected a list of token ids (integers)", where)
	}
	ids := make([]int, len(items))
	for i, it := range items {
		var n json.Number
		t := bytes.TrimSpace(it)
		ok := len(t) > 0 && (t[0] == '-' || (t[0] >= '0' && t[0] <= '9')) && json.Unmarshal(t, &n) == nil
		var v int64
		if ok {
			var err error
			v, err = n.Int64()
			ok = err == nil && v >= 0 && v <= math.MaxInt32
		}
		if !ok {
			return nil, badRequest("prompt", "%s[%d]: %s is not a token id (a non-negative integer)", where, i, clip(string(t), 40))
		}
		ids[i] = int(v)
	}
	return ids, nil
}

// parseStop reads stop as null, a string, or a list of strings; empty
// strings are dropped.
func parseStop(raw json.RawMessage) ([]string, error) {
	if isNull(raw) {
		return nil, nil
	}
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		if one == "" {
			return nil, nil
		}
		return []string{one}, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, badRequest("stop", "stop must be a string or a list of strings")
	}
	if len(list) > maxStops {
		return nil, badRequest("stop", "at most %d stop sequences are allowed, got %d", maxStops, len(list))
	}
	var out []string
	for _, s := range list {
		if s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

// parseContent reads a chat message's content: a string, null, or a list
// of text parts.
func parseContent(raw json.RawMessage, i int) (string, error) {
	param := fmt.Sprintf("messages[%d].content", i)
	if isNull(raw) {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var parts []struct {
		Type string  `json:"type"`
		Text *string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", badRequest(param, "%s must be a string or a list of content parts", param)
	}
	var b strings.Builder
	for j, p := range parts {
		if p.Type != "text" || p.Text == nil {
			return "", badRequest(param, "%s[%d]: only text parts ({\"type\": \"text\", \"text\": ...}) are supported, got type %q", param, j, p.Type)
		}
		b.WriteString(*p.Text)
	}
	return b.String(), nil
}

// clip shortens s for an error message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
