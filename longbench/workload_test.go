package longbench

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sdtp/sdtp/internal/testdata"
)

func TestRequestShapes(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("hotpotqa.jsonl", `{"pred":"Paris is big","answers":["x"],"all_classes":null,"length":1000}
{"pred":"","answers":["x"],"all_classes":null,"length":10,"prompt_tokens":77}
`)
	write("lcc.jsonl", `{"pred":"a b c d e f g h i j k l m n o p q r s t u v w x y z a b c d e f g h i j k l m n o p q r s t u v w x y z a b c d e f g h i j k l m n o p q r s t u v w x y z","answers":["x"],"all_classes":null,"length":5000}
`)
	write("dureader.jsonl", `{"pred":"北京是首都","answers":["x"],"all_classes":null,"length":20000}
`)
	got, err := RequestShapes(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []RequestShape{
		{"hotpotqa", 1400, 4},  // 1000 words × 1.4; 3 words × 1.4
		{"hotpotqa", 77, 1},    // the recorded prompt tokens; at least one new token
		{"dureader", 16000, 4}, // 20000 characters × 0.8; 5 characters × 0.8
		{"lcc", 10500, 64},     // 5000 × 2.1; 78 words × 2.1 capped at lcc's 64
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("shape %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	// Fitted to 4096 positions: prompt + new tokens never exceed them.
	fit, err := RequestShapes(dir, 4096)
	if err != nil {
		t.Fatal(err)
	}
	if fit[3].PromptTokens != 4096-64 || fit[2].PromptTokens != 4096-4 || fit[0] != want[0] {
		t.Errorf("fitted shapes %+v", fit)
	}
	if _, err := RequestShapes(t.TempDir(), 0); err == nil {
		t.Error("an empty folder gave no error")
	}
}

// TestRequestShapesOfTheOfficialLog: the shared llama2-7b-chat results
// log gives one shape per row of the 21 tasks.
func TestRequestShapesOfTheOfficialLog(t *testing.T) {
	dir := filepath.Dir(testdata.Path(t, "longbench/pred/llama2-7b-chat/result.json"))
	got, err := RequestShapes(dir, 32768)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4750 {
		t.Errorf("%d shapes, want the log's 4750 rows", len(got))
	}
	for _, s := range got {
		if s.PromptTokens < 1 || s.NewTokens < 1 || s.PromptTokens+s.NewTokens > 32768 {
			t.Fatalf("shape %+v", s)
		}
	}
}
