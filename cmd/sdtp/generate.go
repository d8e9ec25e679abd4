package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/sdtp/sdtp/chat"
	"github.com/sdtp/sdtp/generate"
	"github.com/sdtp/sdtp/internal/sysinfo"
	"github.com/sdtp/sdtp/session"
	"github.com/sdtp/sdtp/tokenizer"
)

func runGenerate(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "generate", "generate [--model M] [--tokenizer T] (--prompt P | --chat MSG | --prompt-ids IDS) [flags]\n\nWithout --model it runs synthetic:tiny (random weights: a smoke test) and says so on stderr;\nwithout a tokenizer it prints token ids.")
	o, pf := registerModel(fs, "synthetic:tiny")
	prompt := fs.String("prompt", "", "prompt text, sent as is (BOS added when the tokenizer adds one)")
	chatMsg := fs.String("chat", "", "a user message, wrapped in the model's chat template")
	system := fs.String("system", "", "system message for --chat")
	tmplName := fs.String("chat-template", "", "chat template to use instead of the one detected from tokenizer_config.json: "+strings.Join(chat.Names(), ", "))
	promptIDs := fs.String("prompt-ids", "", "prompt as token ids, space- or comma-separated (no tokenizer needed)")
	maxTokens := fs.Int("max-tokens", 128, "maximum number of new tokens")
	temp := fs.Float64("temperature", 0, "sampling temperature; 0 is greedy")
	topK := fs.Int("top-k", 0, "sample among the k most likely tokens (0: all)")
	topP := fs.Float64("top-p", 1, "sample among the most likely tokens whose probability reaches p")
	seed := fs.Uint64("seed", 0, "random seed for sampling")
	stops := fs.String("stop", "", "stop strings, separated by '|'; generation ends before the first one")
	noEOS := fs.Bool("ignore-eos", false, "keep generating past end-of-sequence tokens")
	asJSON := fs.Bool("json", false, "print one JSON object (text, token ids, logprobs (null where not finite), prompt tokens, timings, per-layer alive and KV counts, the H2O budget's evictions) instead of streaming text")
	hf := registerH2O(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	kv, err := hf.budget()
	if err != nil {
		return err
	}
	switch {
	case *maxTokens < 0:
		return fmt.Errorf("--max-tokens %d must not be negative", *maxTokens)
	case *topK < 0:
		return fmt.Errorf("--top-k %d must not be negative", *topK)
	}
	if err := checkSampling(*temp, *topP); err != nil {
		return err
	}
	given := 0
	for _, s := range []string{*prompt, *chatMsg, *promptIDs} {
		if s != "" {
			given++
		}
	}
	if given > 1 {
		return fmt.Errorf("give only one of --prompt, --chat, --prompt-ids")
	}
	if !flagSet(fs, "model") {
		fmt.Fprintf(e.stderr, "sdtp generate: no --model given: running %s, a tiny model with random weights whose output means nothing (a smoke test); give --model for a real one\n", o.Model)
	}

	sess, err := session.Open(*o)
	if err != nil {
		return err
	}
	defer sess.Close()
	b, m, tok := sess.B, sess.M, sess.Tok
	var ids []int
	switch {
	case *promptIDs != "":
		if ids, err = parseIDs(*promptIDs, m.Config.Vocab); err != nil {
			return fmt.Errorf("--prompt-ids: %w", err)
		}
	case flagSet(fs, "prompt-ids"):
		return fmt.Errorf("--prompt-ids: no token ids given")
	case tok == nil && (*prompt != "" || *chatMsg != ""):
		return fmt.Errorf("--prompt and --chat need a tokenizer: give --tokenizer (or use --prompt-ids)")
	case *chatMsg != "":
		if ids, err = sess.ChatIDs(*tmplName, *system, *chatMsg); err != nil {
			return err
		}
	case tok != nil:
		ids = tok.EncodeWithSpecial(*prompt)
	}
	if len(ids) == 0 {
		if m.Config.BOS < 0 {
			return fmt.Errorf("empty prompt and the model has no BOS token to start from")
		}
		ids = []int{m.Config.BOS}
	}
	pr, cleanup, err := sess.Pruner(*pf)
	if err != nil {
		return err
	}
	defer cleanup()

	req := generate.Request{
		Prompt:    ids,
		MaxTokens: *maxTokens,
		Sampling:  generate.Sampling{Temperature: *temp, TopK: *topK, TopP: *topP, Seed: *seed},
		Pruner:    pr,
		H2O:       kv,
		Logprobs:  *asJSON,
	}
	if *stops != "" {
		req.StopStrings = strings.Split(*stops, "|")
	}
	if !*noEOS {
		req.StopIDs = sess.StopIDs()
	}
	var dec generate.Decoder
	if tok != nil {
		dec = tok
		if !*asJSON {
			req.OnText = func(s string) error {
				_, err := fmt.Fprint(e.stdout, s)
				return err
			}
		}
	}
	res, err := generate.Run(ctx, m, dec, req)
	if err != nil {
		return err
	}
	if *asJSON {
		out, bad := res.Summary(m.Config.Name, b.Name()+" ("+b.Device()+")", pr != nil)
		if bad > 0 {
			fmt.Fprintf(e.stderr, "sdtp generate: warning: %d of %d logprobs are NaN or infinite (the model's logits are not finite); written as null\n", bad, len(res.Tokens))
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	if tok == nil {
		fmt.Fprintln(e.stderr, "sdtp generate: no tokenizer (give --tokenizer, or a model folder holding tokenizer.json): printing the new token ids")
		fmt.Fprintln(e.stdout, strings.Trim(fmt.Sprint(res.IDs()), "[]"))
	} else if !strings.HasSuffix(res.Text, "\n") && sysinfo.IsTerminal(e.stdout) {
		fmt.Fprintln(e.stdout)
	}
	fmt.Fprintf(e.stderr, "[%d prompt tokens, %d new; prefill %.3fs, decode %.3fs]\n", res.PromptTokens, len(res.Tokens), res.PrefillSeconds, res.DecodeSeconds)
	return nil
}

// parseIDs reads token ids separated by spaces, commas or newlines, each
// in [0, vocab).
func parseIDs(s string, vocab int) ([]int, error) {
	var ids []int
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' }) {
		id, err := strconv.Atoi(f)
		switch {
		case err != nil || id < 0:
			return nil, fmt.Errorf("%q is not a token id", f)
		case id >= vocab:
			return nil, fmt.Errorf("token id %d is outside the vocabulary of %d", id, vocab)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

var _ generate.Decoder = tokenizer.Tokenizer(nil)
