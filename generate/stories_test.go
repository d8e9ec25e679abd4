package generate_test

import (
	"context"
	"os"
	"testing"

	"github.com/sdtp/sdtp/backend"
	_ "github.com/sdtp/sdtp/backend/cpu"
	"github.com/sdtp/sdtp/generate"
	"github.com/sdtp/sdtp/internal/testdata"
	"github.com/sdtp/sdtp/model"
	"github.com/sdtp/sdtp/tokenizer"
)

// TestStories260KMatchesLlama2C reproduces llama2.c's reference greedy
// output of stories260K (200 forward passes from BOS) byte for byte.
func TestStories260KMatchesLlama2C(t *testing.T) {
	ckpt := testdata.Path(t, "llama2c/stories260K.bin")
	tokPath := testdata.Path(t, "llama2c/tok512.bin")
	want, err := os.ReadFile(testdata.Path(t, "llama2c/expected_stories260K_t0_n200.txt"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := backend.Open("cpu", backend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	m, err := model.Open(b, ckpt)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	tok, err := tokenizer.Load(tokPath)
	if err != nil {
		t.Fatal(err)
	}
	var streamed []byte
	res, err := generate.Run(context.Background(), m, tok, generate.Request{
		Prompt: []int{m.Config.BOS}, MaxTokens: 200, StopIDs: []int{m.Config.BOS},
		OnText: func(s string) error { streamed = append(streamed, s...); return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Text != string(want) {
		t.Fatalf("text differs from llama2.c:\n got %q\nwant %q", res.Text, want)
	}
	if string(streamed) != res.Text {
		t.Fatalf("streamed text %q differs from the final text", streamed)
	}
}
