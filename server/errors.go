package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/sdtp/sdtp/model"
	"net/http"
)

// apiError is an error the client sees, in OpenAI's shape:
// {"error": {"message", "type", "param", "code"}}.
type apiError struct {
	Status  int     `json:"-"`
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
	// RetryAfter, when positive, is sent as the Retry-After header (seconds).
	RetryAfter int `json:"-"`
}

func (e *apiError) Error() string { return e.Message }

// Error types OpenAI uses.
const (
	typeInvalidRequest = "invalid_request_error"
	typeAuthentication = "authentication_error"
	typeNotFound       = "not_found_error"
	typeRateLimit      = "rate_limit_error"
	typeServer         = "server_error"
)

// statusClientClosed is logged for requests whose client went away (nginx's 499).
const statusClientClosed = 499

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// badRequest is a 400 naming the offending parameter.
func badRequest(param, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Type: typeInvalidRequest, Param: strPtr(param), Message: fmt.Sprintf(format, args...)}
}

// badRequestCode is a 400 with a machine-readable code.
func badRequestCode(param, code, format string, args ...any) *apiError {
	e := badRequest(param, format, args...)
	e.Code = strPtr(code)
	return e
}

func newError(status int, typ, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Type: typ, Code: strPtr(code), Message: fmt.Sprintf(format, args...)}
}

// ctxError is the error of a request whose context ended: 503 when the
// server cancelled it on shutdown, else the context's own error (the
// client went away).
func ctxError(ctx context.Context) error {
	if errors.Is(context.Cause(ctx), errShuttingDown) {
		return newError(http.StatusServiceUnavailable, typeServer, "server_shutting_down", "the server is shutting down and cancelled this request; retry later")
	}
	return ctx.Err()
}

// clientGone reports whether the request's client went away, so that
// nothing more can reach it.
func clientGone(ctx context.Context) bool {
	return ctx.Err() != nil && !errors.Is(context.Cause(ctx), errShuttingDown)
}

// asAPIError turns any error into one the client may see: API errors pass
// through, anything else becomes a 500 whose message names the failure.
func asAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	if errors.Is(err, context.Canceled) {
		return newError(statusClientClosed, typeServer, "cancelled", "the request was cancelled")
	}
	if errors.Is(err, model.ErrTooLong) {
		return newError(http.StatusBadRequest, typeInvalidRequest, "context_length_exceeded", "%v", err)
	}
	return newError(http.StatusInternalServerError, typeServer, "internal_error", "%v", err)
}

// writeError sends err as an OpenAI-style error response.
func writeError(w http.ResponseWriter, err error) {
	ae := asAPIError(err)
	if ae.RetryAfter > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(ae.RetryAfter))
	}
	writeJSON(w, ae.Status, struct {
		Error *apiError `json:"error"`
	}{ae})
}

// writeJSON sends v with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"error":{"message":"encoding the response failed","type":"server_error","param":null,"code":"internal_error"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}
