package tokenizer

import (
	"encoding/json"
	"fmt"
	"strings"
)

// isNull reports whether a JSON value is null or absent.
func isNull(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s == "" || s == "null"
}

// parseComponent reads a tokenizer.json component object (the normalizer,
// pre_tokenizer, decoder or post_processor, named by what in errors) into
// a T; null or absent gives nil.
func parseComponent[T any](raw json.RawMessage, what string) (*T, error) {
	if isNull(raw) {
		return nil, nil
	}
	c := new(T)
	if err := json.Unmarshal(raw, c); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return c, nil
}

// parseSequence parses the members of a Sequence component with parse,
// leaving out the members that give nil (null ones).
func parseSequence[T comparable](members []json.RawMessage, what string, parse func(json.RawMessage) (T, error)) ([]T, error) {
	var seq []T
	var none T
	for i, raw := range members {
		c, err := parse(raw)
		if err != nil {
			return nil, fmt.Errorf("%s Sequence[%d]: %w", what, i, err)
		}
		if c != none {
			seq = append(seq, c)
		}
	}
	return seq, nil
}
