package longbench

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sdtp/sdtp/chat"
	"github.com/sdtp/sdtp/internal/testdata"
	"github.com/sdtp/sdtp/tokenizer"
)

type formatOracle struct {
	Handmade []struct {
		Task   string
		Row    Row
		Prompt string
	}
	SharedRows map[string]struct {
		Sha256 string
		Bytes  int
	} `json:"shared_rows"`
}

func readFormatOracle(t *testing.T) formatOracle {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "python_format_prompts.json"))
	if err != nil {
		t.Fatal(err)
	}
	var o formatOracle
	if err := json.Unmarshal(b, &o); err != nil {
		t.Fatal(err)
	}
	return o
}

// TestFormatPromptMatchesPython checks prompt formatting on a hand-made row
// of every task, and on the real shared rows, against Python's str.format.
func TestFormatPromptMatchesPython(t *testing.T) {
	o := readFormatOracle(t)
	if len(o.Handmade) != 21 {
		t.Fatalf("oracle has %d hand-made rows, want 21", len(o.Handmade))
	}
	for _, c := range o.Handmade {
		task := mustTask(t, c.Task)
		got, err := BuildPrompt(task, c.Row, PromptOptions{})
		if err != nil {
			t.Fatalf("%s: %v", c.Task, err)
		}
		if got != c.Prompt {
			t.Errorf("%s: prompt differs from Python's\n got %q\nwant %q", c.Task, got, c.Prompt)
		}
	}
	for name, want := range o.SharedRows {
		rows := readSharedRows(t, name)
		got, err := BuildPrompt(mustTask(t, name), rows[0], PromptOptions{})
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(got))
		if hex.EncodeToString(sum[:]) != want.Sha256 || len(got) != want.Bytes {
			t.Errorf("%s: prompt of the shared row (%d bytes) differs from Python's (%d bytes)", name, len(got), want.Bytes)
		}
	}
}

func readSharedRows(t *testing.T, task string) []Row {
	t.Helper()
	f, err := os.Open(testdata.Path(t, "longbench/rows/"+task+".jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := ReadRows(f, f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestFormatPromptErrors(t *testing.T) {
	for _, tmpl := range []string{"{context", "x}", "{answers}", "{input!r}", "{context:>10}"} {
		if _, err := FormatPrompt(tmpl, Row{}); err == nil {
			t.Errorf("FormatPrompt(%q): no error", tmpl)
		}
	}
}

// runeTok is a tokenizer with one token per rune and an optional BOS (id
// 0, the NUL rune), to check the truncation arithmetic exactly.
type runeTok struct{ bos bool }

func (r runeTok) EncodeWithSpecial(s string) []int {
	var ids []int
	if r.bos {
		ids = append(ids, 0)
	}
	for _, c := range s {
		ids = append(ids, int(c))
	}
	return ids
}

func (runeTok) DecodeSkipSpecial(ids []int) string {
	var b strings.Builder
	for _, id := range ids {
		if id > 0 {
			b.WriteRune(rune(id))
		}
	}
	return b.String()
}

func (r runeTok) BOS() int {
	if r.bos {
		return 0
	}
	return -1
}

func TestTruncateMiddleArithmetic(t *testing.T) {
	for _, c := range []struct {
		bos       bool
		in        string
		max       int
		want      string
		wantError bool
	}{
		{false, "abcdefghij", 10, "abcdefghij", false},
		{false, "abcdefghij", 4, "abij", false},
		{false, "abcdefghij", 5, "abij", false}, // int(5/2) = 2 on each side
		// HF counts the BOS: 11 tokens > 10, the first half keeps BOS+a..d
		// and decodes without the BOS.
		{true, "abcdefghij", 10, "abcdfghij", false},
		{true, "abcdefghi", 10, "abcdefghi", false},
		{false, "abc", 1, "", true},
	} {
		got, err := TruncateMiddle(runeTok{c.bos}, c.in, c.max)
		if (err != nil) != c.wantError || got != c.want {
			t.Errorf("TruncateMiddle(bos=%v, %q, %d) = %q, %v; want %q", c.bos, c.in, c.max, got, err, c.want)
		}
	}
}

// TestTruncateMiddleQwen2 truncates real long prompts with the Qwen2
// tokenizer: the result keeps the start and the end of the prompt (the
// instructions and the question) and re-encodes to about maxLength tokens.
func TestTruncateMiddleQwen2(t *testing.T) {
	tok, err := tokenizer.Load(testdata.Path(t, "qwen2/tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"hotpotqa", "lcc", "multifieldqa_en"} {
		task := mustTask(t, name)
		row := readSharedRows(t, name)[0]
		full, err := BuildPrompt(task, row, PromptOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n := len(tok.EncodeWithSpecial(full))
		for _, max := range []int{n + 10, n, 2000, 501} {
			got, err := BuildPrompt(task, row, PromptOptions{Tokenizer: tok, MaxLength: max})
			if err != nil {
				t.Fatal(err)
			}
			if max >= n {
				if got != full {
					t.Errorf("%s max %d >= %d tokens: prompt changed", name, max, n)
				}
				continue
			}
			ids := tok.EncodeWithSpecial(full)
			half := max / 2
			head, tail := tok.DecodeSkipSpecial(ids[:half]), tok.DecodeSkipSpecial(ids[n-half:])
			if got != head+tail || !strings.HasPrefix(full, head) || !strings.HasSuffix(full, tail) {
				t.Errorf("%s max %d: result is not the first and last %d tokens of the prompt", name, max, half)
			}
			if m := len(tok.EncodeWithSpecial(got)); m < 2*half-4 || m > 2*half+4 {
				t.Errorf("%s max %d: truncated prompt re-encodes to %d tokens", name, max, m)
			}
			if !utf8.ValidString(got) {
				t.Errorf("%s max %d: invalid UTF-8", name, max)
			}
		}
	}
}

func TestBuildPromptChatTemplate(t *testing.T) {
	row := Row{Input: "Q", Context: "C", Answers: []string{"a"}, ID: "x"}
	tmpl := OfficialLlama2Template()
	for _, c := range []struct {
		task    string
		wrapped bool
	}{{"hotpotqa", true}, {"trec", false}, {"lcc", false}, {"vcsum", true}} {
		task := mustTask(t, c.task)
		plain, err := BuildPrompt(task, row, PromptOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := BuildPrompt(task, row, PromptOptions{Template: tmpl})
		if err != nil {
			t.Fatal(err)
		}
		want := plain
		if c.wrapped {
			want = "[INST]" + plain + "[/INST]"
		}
		if got != want {
			t.Errorf("%s: got %q, want %q", c.task, got, want)
		}
	}
	// Truncation happens before the template: the template text is never cut.
	got, err := BuildPrompt(mustTask(t, "hotpotqa"), Row{Context: strings.Repeat("x", 5000), Input: "Q"}, PromptOptions{Tokenizer: runeTok{}, MaxLength: 100, Template: tmpl})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got, "[INST]Answer the question") || !strings.HasSuffix(got, "Answer:[/INST]") || len(got) != 100+len("[INST][/INST]") {
		t.Errorf("truncated then templated prompt: %q", got)
	}
}

// chatTemplates returns every chat template the runner can be given:
// none, pred.py's official Llama-2 one, and each of package chat's.
func chatTemplates(t *testing.T) map[string]ChatTemplate {
	t.Helper()
	out := map[string]ChatTemplate{"none": nil, "official-llama2": OfficialLlama2Template()}
	for _, name := range chat.Names() {
		tm, err := chat.ByName(name)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = TemplateFunc(func(user string) (string, error) {
			return tm.Render([]chat.Message{{Role: "user", Content: user}}, true)
		})
	}
	return out
}

// sharedTasks lists the tasks of the shared real rows.
func sharedTasks(t *testing.T) []Task {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(testdata.Path(t, "longbench/rows"), "*.jsonl"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no shared rows: %v", err)
	}
	var out []Task
	for _, f := range files {
		out = append(out, mustTask(t, strings.TrimSuffix(filepath.Base(f), ".jsonl")))
	}
	return out
}

// TestBuildPromptFits is issue 12's item 1: with the model's positions,
// the prompt that reaches the model (template(cut(prompt)), tokenized as
// the generator does) plus the task's new tokens always fits, for every
// chat template and for tokenizers whose re-encoding of a cut text merges
// differently (byte-level BPE, llama2.c's 512 tokens, SentencePiece), and
// it uses the room: the default length leaves at most a few tokens free.
func TestBuildPromptFits(t *testing.T) {
	templates := chatTemplates(t)
	tasks := sharedTasks(t)
	for _, tokPath := range []string{"qwen2/tokenizer.json", "llama2c/tok512.bin", "llama2c/tokenizer.bin"} {
		tok, err := tokenizer.Load(testdata.Path(t, tokPath))
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range tasks {
			row := readSharedRows(t, task.Name)[0]
			for name, tm := range templates {
				for _, positions := range []int{512, 1201} {
					opt := PromptOptions{Tokenizer: tok, Template: tm, Positions: positions}
					got, err := BuildPrompt(task, row, opt)
					if err != nil {
						t.Errorf("%s %s %s %d: %v", tokPath, task.Name, name, positions, err)
						continue
					}
					newTokens, _ := opt.NewTokens(task)
					n := len(EncodePrompt(tok, got))
					if n+newTokens > positions || n+newTokens < positions-6 {
						t.Errorf("%s %s template %s: %d prompt tokens + %d new tokens for %d positions", tokPath, task.Name, name, n, newTokens, positions)
					}
				}
			}
		}
	}
}

// TestCheckTasks lists the tasks whose new tokens a short context caps and
// refuses a cut length that leaves a task's new tokens no room.
func TestCheckTasks(t *testing.T) {
	tasks := []Task{mustTask(t, "gov_report"), mustTask(t, "trec")} // 512 and 64 new tokens
	capped, err := PromptOptions{MaxLength: 100, Positions: 512}.CheckTasks(tasks)
	if err != nil || len(capped) != 1 || capped[0] != "gov_report 256 of 512" {
		t.Errorf("512 positions: capped %q, %v", capped, err)
	}
	if capped, err := (PromptOptions{MaxLength: 100, Positions: 4096}).CheckTasks(tasks); err != nil || capped != nil {
		t.Errorf("4096 positions: capped %q, %v", capped, err)
	}
	if _, err := (PromptOptions{MaxLength: 4000, Positions: 4096}).CheckTasks(tasks); err == nil || !strings.Contains(err.Error(), "gov_report") {
		t.Errorf("a cut length leaving gov_report no room: %v", err)
	}
}
