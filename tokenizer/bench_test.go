package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/sdtp/sdtp/internal/testdata"
)

// longText joins the contexts of the shared LongBench rows (English,
// Chinese and code), repeated to at least minBytes.
func longText(b testing.TB, minBytes int) string {
	b.Helper()
	dir := testdata.Path(b, "longbench/rows")
	files, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if err != nil || len(files) == 0 {
		b.Skipf("no LongBench rows in %s", dir)
	}
	sort.Strings(files)
	var parts []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			var row struct{ Context, Input string }
			if err := json.Unmarshal([]byte(line), &row); err != nil {
				b.Fatalf("%s: %v", f, err)
			}
			parts = append(parts, row.Context, row.Input)
		}
	}
	one := strings.Join(parts, "\n")
	var sb strings.Builder
	for sb.Len() < minBytes {
		sb.WriteString(one)
	}
	return sb.String()
}

// BenchmarkEncodeQwen2 measures encoding throughput on about 1 MB of
// LongBench text (MB/s is reported by -bench through SetBytes).
func BenchmarkEncodeQwen2(b *testing.B) {
	benchEncode(b, loadQwen2(b))
}

// benchEncode measures tok's encoding of about 1 MB of LongBench text. A
// fresh tokenizer state each time would be slower; the cache is part of the
// design, so this is the steady state.
func benchEncode(b *testing.B, tok Tokenizer) {
	text := longText(b, 1<<20)
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tok.Encode(text)
	}
}

// BenchmarkEncodeQwen2Cold measures the first encoding, with an empty cache.
func BenchmarkEncodeQwen2Cold(b *testing.B) {
	tok := loadQwen2(b)
	text := longText(b, 1<<20)
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tok.model.mu.Lock()
		clear(tok.model.cache)
		tok.model.mu.Unlock()
		tok.Encode(text)
	}
}

func BenchmarkDecodeQwen2(b *testing.B) {
	tok := loadQwen2(b)
	ids := tok.Encode(longText(b, 1<<20))
	b.ResetTimer()
	var n int
	for i := 0; i < b.N; i++ {
		n += len(tok.Decode(ids))
	}
	b.SetBytes(int64(n / b.N))
}

func BenchmarkEncodeLlama2C(b *testing.B) {
	tok, err := LoadLlama2C(testdata.Path(b, "llama2c/tokenizer.bin"))
	if err != nil {
		b.Fatal(err)
	}
	benchEncode(b, tok)
}

func BenchmarkLoadQwen2(b *testing.B) {
	path := testdata.Path(b, "qwen2/tokenizer.json")
	for i := 0; i < b.N; i++ {
		if _, err := LoadJSON(path); err != nil {
			b.Fatal(err)
		}
	}
}
