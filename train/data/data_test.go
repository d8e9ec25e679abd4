package data

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	tests := []struct {
		name, in string
		f        Format
		want     []Text
		err      string
	}{
		{"text", "{\"text\": \"a b\"}\n\n{\"text\":\"c\",\"id\":3}\n", FormatAuto, []Text{{1, "a b"}, {3, "c"}}, ""},
		{"dolly", `{"instruction":" Why? ","context":"","response":"Because.","category":"open_qa"}` + "\n" +
			`{"instruction":"Sum up","context":"Long text.","response":"Short.","category":"summarization"}`, FormatAuto,
			[]Text{{1, "### Instruction:\nWhy?\n\n### Response:\nBecause."}, {2, "### Instruction:\nSum up\n\n### Context:\nLong text.\n\n### Response:\nShort."}}, ""},
		{"bad json", "{\"text\": \"a\"}\n{\"text\": \n", FormatText, nil, "2: not a JSON object"},
		{"missing", "{\"text\": \"a\"}\n\n{\"txt\": \"b\"}\n", FormatText, nil, "3: field \"text\" is missing"},
		{"not string", "{\"text\": 5}\n", FormatText, nil, "1: field \"text\" is not a string"},
		{"empty", "{\"text\": \"  \"}\n", FormatText, nil, "1: field \"text\" is empty"},
		{"dolly missing response", `{"instruction":"x","context":"","category":"a"}`, FormatDolly, nil, "1: field \"response\" is missing"},
		{"dolly category type", `{"instruction":"x","response":"y","category":7}`, FormatDolly, nil, "1: field \"category\" is not a string"},
		{"undetectable", "{\"prompt\": \"x\"}\n", FormatAuto, nil, "1: row has neither"},
		{"array", "[1,2]\n", FormatText, nil, "1: not a JSON object"},
	}
	for _, tc := range tests {
		got, err := Read(strings.NewReader(tc.in), tc.f)
		if tc.err != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
				t.Errorf("%s: err %v, want prefix %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(got) != len(tc.want) {
			t.Fatalf("%s: got %d rows, want %d", tc.name, len(got), len(tc.want))
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s row %d: got %+v, want %+v", tc.name, i, got[i], tc.want[i])
			}
		}
	}
}

func TestReadFileNamesFileAndLine(t *testing.T) {
	p := filepath.Join(t.TempDir(), "d.jsonl")
	os.WriteFile(p, []byte("{\"text\":\"ok\"}\n{\"text\":1}\n"), 0o644)
	_, err := ReadFile(p, FormatAuto)
	if err == nil || err.Error() != p+":2: field \"text\" is not a string" {
		t.Fatalf("err %v", err)
	}
	os.WriteFile(p, []byte("\n\n"), 0o644)
	if _, err := ReadFile(p, FormatAuto); err == nil || !strings.Contains(err.Error(), "no rows") {
		t.Fatalf("empty file: err %v", err)
	}
}

type byteEncoder struct{}

func (byteEncoder) EncodeWithSpecial(s string) []int {
	ids := []int{1}
	for _, b := range []byte(s) {
		ids = append(ids, int(b))
	}
	return ids
}

func TestTokenize(t *testing.T) {
	texts := []Text{{1, "abcdef"}, {2, "a"}, {4, "abc"}}
	out, skipped, err := Tokenize(byteEncoder{}, texts, 4, 3)
	if err != nil {
		t.Fatal(err)
	}
	if skipped != 1 || len(out) != 2 || len(out[0].IDs) != 4 || out[1].Line != 4 || len(out[1].IDs) != 4 {
		t.Fatalf("got %+v skipped %d", out, skipped)
	}
	if _, _, err := Tokenize(byteEncoder{}, texts, 2, 3); err == nil {
		t.Fatal("min above max accepted")
	}
}

func TestOrder(t *testing.T) {
	a, b, c := Order(50, 7, 0), Order(50, 7, 0), Order(50, 7, 1)
	seen := make([]bool, 50)
	same := true
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("same seed and epoch gave different orders")
		}
		if a[i] != c[i] {
			same = false
		}
		seen[a[i]] = true
	}
	if same {
		t.Fatal("two epochs gave the same order")
	}
	for i, s := range seen {
		if !s {
			t.Fatalf("index %d missing from the permutation", i)
		}
	}
}

func FuzzParseRow(f *testing.F) {
	f.Add([]byte(`{"text":"hello"}`))
	f.Add([]byte(`{"instruction":"a","context":"b","response":"c","category":"d"}`))
	f.Add([]byte(`{"text":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, fm := range []Format{FormatText, FormatDolly} {
			s, err := ParseRow(b, fm)
			if err == nil && strings.TrimSpace(s) == "" {
				t.Fatalf("%s: empty text accepted from %q", fm, b)
			}
		}
		_, _ = Read(strings.NewReader(string(b)), FormatAuto)
	})
}
