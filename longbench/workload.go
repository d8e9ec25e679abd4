package longbench

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// RequestShape is the size of one LongBench generation: its prompt and
// new tokens. A throughput benchmark replays such shapes with synthetic
// prompts (bench.Work).
type RequestShape struct {
	Task         string
	PromptTokens int
	NewTokens    int
}

// tokensPerUnit converts the official length field (words; characters
// for Chinese) and a prediction's words (characters) into tokens. English
// and code were measured with the Qwen2 tokenizer on the first row of the
// 12 tasks in shared/testdata/longbench/rows (tokens of context + input
// over length: English 1.25–1.56, median about 1.4; code 1.98–2.19);
// Chinese is an estimate, no Chinese row being at hand.
var tokensPerUnit = map[string]float64{"en": 1.4, "code": 2.1, "zh": 0.8}

// RequestShapes reads the LongBench prediction files of dir (<task>.jsonl
// with the official length field and pred: an sdtp run folder, or an
// official results log) and returns one shape per row, in task order.
// The prompt's tokens are the row's prompt_tokens where the run recorded
// them, else estimated from its length (tokensPerUnit); the new tokens
// are the prediction's, estimated the same way, at least 1 and at most
// the task's maximum. With positions > 0 a prompt is cut, as the runner
// cuts it, so that it and its new tokens fit.
func RequestShapes(dir string, positions int) ([]RequestShape, error) {
	var out []RequestShape
	for _, t := range Tasks() {
		path := filepath.Join(dir, t.Name+".jsonl")
		if _, err := os.Stat(path); err != nil {
			continue
		}
		pf, err := ReadPredictionFile(path)
		if err != nil {
			return nil, err
		}
		maxNew, err := t.MaxNewTokens()
		if err != nil {
			return nil, err
		}
		if positions > 0 {
			maxNew = min(maxNew, positions/2)
		}
		per := tokensPerUnit[t.Language]
		for i, p := range pf.Rows {
			if p.Length <= 0 && p.PromptTokens <= 0 {
				return nil, fmt.Errorf("%s line %d: no length and no prompt_tokens", path, pf.Lines[i])
			}
			prompt := p.PromptTokens
			if prompt <= 0 {
				prompt = int(float64(p.Length)*per + 0.5)
			}
			units := len(strings.Fields(p.Pred))
			if t.Language == "zh" {
				units = utf8.RuneCountInString(strings.TrimSpace(p.Pred))
			}
			n := min(maxNew, max(1, int(float64(units)*per+0.5)))
			if positions > 0 {
				prompt = min(prompt, positions-n)
			}
			out = append(out, RequestShape{Task: t.Name, PromptTokens: max(1, prompt), NewTokens: n})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no LongBench prediction files (<task>.jsonl)", dir)
	}
	return out, nil
}
