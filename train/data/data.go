// Package data reads training texts for pruning modules: JSONL files of
// {"text": ...} rows and databricks-dolly-15k rows, tokenized, cut to a
// maximum length and shuffled with a seed.
package data

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// Format names a row layout.
type Format string

// The row layouts Read understands.
const (
	// FormatAuto decides from the first row: "text" → FormatText,
	// "instruction" → FormatDolly.
	FormatAuto Format = "auto"
	// FormatText rows are {"text": "..."} (other keys are ignored).
	FormatText Format = "text"
	// FormatDolly rows are databricks-dolly-15k's {"instruction",
	// "context", "response", "category"}, joined by JoinDolly.
	FormatDolly Format = "dolly"
)

// ParseFormat checks a format name.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case FormatAuto, FormatText, FormatDolly:
		return f, nil
	}
	return "", fmt.Errorf("data format %q: want auto, text or dolly", s)
}

// Text is one training text and the line of the file it came from.
type Text struct {
	Line int
	Text string
}

// maxLine bounds one row (dolly contexts run to tens of kilobytes).
const maxLine = 64 << 20

// ReadFile reads every row of a JSONL file. Blank lines are skipped; a
// malformed row is an error naming the file and its line.
func ReadFile(path string, f Format) ([]Text, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	defer fh.Close()
	texts, err := Read(fh, f)
	if err != nil {
		return nil, fmt.Errorf("%s:%w", path, err)
	}
	if len(texts) == 0 {
		return nil, fmt.Errorf("%s: no rows", path)
	}
	return texts, nil
}

// Read reads JSONL rows from r. Errors start with the 1-based line number
// and a colon ("12: ...").
func Read(r io.Reader, f Format) ([]Text, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	var out []Text
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		if f == FormatAuto {
			var err error
			if f, err = detect(b); err != nil {
				return nil, fmt.Errorf("%d: %w", line, err)
			}
		}
		text, err := ParseRow(b, f)
		if err != nil {
			return nil, fmt.Errorf("%d: %w", line, err)
		}
		out = append(out, Text{Line: line, Text: text})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%d: %w", line+1, err)
	}
	return out, nil
}

// detect picks the format of a first row.
func detect(b []byte) (Format, error) {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(b, &keys); err != nil {
		return "", fmt.Errorf("not a JSON object: %w", err)
	}
	switch {
	case keys["text"] != nil:
		return FormatText, nil
	case keys["instruction"] != nil:
		return FormatDolly, nil
	}
	return "", fmt.Errorf("row has neither \"text\" nor \"instruction\" (want {\"text\": ...} or dolly rows)")
}

// ParseRow turns one JSON row into a text.
func ParseRow(b []byte, f Format) (string, error) {
	var row map[string]any
	if err := json.Unmarshal(b, &row); err != nil {
		return "", fmt.Errorf("not a JSON object: %w", err)
	}
	str := func(key string, required bool) (string, error) {
		v, ok := row[key]
		if !ok || v == nil {
			if required {
				return "", fmt.Errorf("field %q is missing", key)
			}
			return "", nil
		}
		s, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("field %q is not a string", key)
		}
		return s, nil
	}
	switch f {
	case FormatText:
		s, err := str("text", true)
		if err != nil {
			return "", err
		}
		if strings.TrimSpace(s) == "" {
			return "", fmt.Errorf("field \"text\" is empty")
		}
		return s, nil
	case FormatDolly:
		var parts [4]string
		for i, k := range []string{"instruction", "context", "response", "category"} {
			s, err := str(k, k != "context" && k != "category")
			if err != nil {
				return "", err
			}
			parts[i] = s
		}
		if strings.TrimSpace(parts[0]) == "" {
			return "", fmt.Errorf("field \"instruction\" is empty")
		}
		return JoinDolly(parts[0], parts[1], parts[2]), nil
	}
	return "", fmt.Errorf("unknown data format %q", f)
}

// JoinDolly joins a dolly row into one text:
//
//	### Instruction:
//	{instruction}
//
//	### Context:
//	{context}
//
//	### Response:
//	{response}
//
// with the context section left out when the context is empty (blank).
// Each field is trimmed of surrounding white space; the category is not
// part of the text.
func JoinDolly(instruction, context, response string) string {
	var b strings.Builder
	b.WriteString("### Instruction:\n")
	b.WriteString(strings.TrimSpace(instruction))
	if c := strings.TrimSpace(context); c != "" {
		b.WriteString("\n\n### Context:\n")
		b.WriteString(c)
	}
	b.WriteString("\n\n### Response:\n")
	b.WriteString(strings.TrimSpace(response))
	return b.String()
}
