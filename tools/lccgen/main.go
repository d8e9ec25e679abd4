// Command lccgen builds a code-completion task in LongBench lcc's row format
// from source files, for models LongBench's own lcc does not suit (the proxy
// model of scripts/proxy reads only its own tokenizer's Python): each row is
// a file's beginning up to a cut (the context) and the next line (the
// answer), scored with LongBench's code_sim by 'sdtp longbench score' like
// lcc itself.
//
//	go run ./tools/lccgen -files heldout.jsonl -tokenizer DIR -out DIR [-rows 100] [-min-tokens 2048] [-max-tokens 7168] [-tail-tokens 512] [-seed 1]
//
// The input is JSONL with "path" and "text" (scripts/proxy/pretrain.py's
// heldout.jsonl); only .py files are used, one row per file at most, files
// in a seeded order. The cut is a random non-blank line of at least 8
// characters whose preceding text is min-tokens to max-tokens tokens long.
// -out gets data/lcc.jsonl; with -tail-tokens N it also gets
// tail/lcc.jsonl, the same rows (same _id and answer) with the context cut
// to the whole lines within its last N tokens: the model's reading with
// the near context only.
package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sdtp/sdtp/internal/atomicfile"
	"github.com/sdtp/sdtp/longbench"
	"github.com/sdtp/sdtp/tokenizer"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "lccgen:", err)
		os.Exit(1)
	}
}

// options are the command's flags.
type options struct {
	files, tokenizer, out            string
	rows, minTokens, maxTokens, tail int
	seed                             uint64
}

func run(args []string, log io.Writer) error {
	fs := flag.NewFlagSet("lccgen", flag.ContinueOnError)
	var o options
	fs.StringVar(&o.files, "files", "", "JSONL of source files with \"path\" and \"text\" (required)")
	fs.StringVar(&o.tokenizer, "tokenizer", "", "the model's tokenizer (tokenizer.json or its folder) (required)")
	fs.StringVar(&o.out, "out", "", "output folder: data/lcc.jsonl and, with -tail-tokens, tail/lcc.jsonl (required)")
	fs.IntVar(&o.rows, "rows", 100, "rows to make (fewer when the files do not hold that many)")
	fs.IntVar(&o.minTokens, "min-tokens", 2048, "fewest context tokens")
	fs.IntVar(&o.maxTokens, "max-tokens", 7168, "most context tokens")
	fs.IntVar(&o.tail, "tail-tokens", 512, "also write the rows with only the context's last N tokens (whole lines); 0: do not")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the file order and the cuts")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case o.files == "" || o.tokenizer == "" || o.out == "":
		return errors.New("-files, -tokenizer and -out are required")
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case o.rows < 1, o.minTokens < 1, o.maxTokens < o.minTokens, o.tail < 0:
		return fmt.Errorf("want -rows ≥ 1, 1 ≤ -min-tokens ≤ -max-tokens, -tail-tokens ≥ 0")
	}
	tok, err := tokenizer.Load(o.tokenizer)
	if err != nil {
		return fmt.Errorf("-tokenizer: %w", err)
	}
	files, err := readFiles(o.files)
	if err != nil {
		return err
	}
	rows, tails := makeRows(files, tok, o)
	fmt.Fprintf(log, "lccgen: %d rows from %d .py files\n", len(rows), len(files))
	if len(rows) == 0 {
		return fmt.Errorf("no file of %s has a cut with %d to %d context tokens", o.files, o.minTokens, o.maxTokens)
	}
	if err := writeRows(filepath.Join(o.out, "data", "lcc.jsonl"), rows); err != nil {
		return err
	}
	if o.tail > 0 {
		return writeRows(filepath.Join(o.out, "tail", "lcc.jsonl"), tails)
	}
	return nil
}

// sourceFile is one input line.
type sourceFile struct {
	Path string `json:"path"`
	Text string `json:"text"`
}

func readFiles(path string) ([]sourceFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []sourceFile
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	for line := 1; sc.Scan(); line++ {
		var s sourceFile
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		if strings.HasSuffix(s.Path, ".py") {
			out = append(out, s)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	slices.SortFunc(out, func(a, b sourceFile) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

// makeRows cuts files in a seeded order until o.rows rows are made; tails
// are the same rows with the near context only.
func makeRows(files []sourceFile, tok tokenizer.Tokenizer, o options) (rows, tails []longbench.Row) {
	r := rand.New(rand.NewPCG(o.seed, 0x6c6363))
	for _, i := range r.Perm(len(files)) {
		if len(rows) == o.rows {
			break
		}
		f := files[i]
		ctx, answer, ok := cut(f.Text, tok, o, r)
		if !ok {
			continue
		}
		sum := sha256.Sum256([]byte(f.Path + "\x00" + ctx))
		row := longbench.Row{Context: ctx, Answers: []string{answer}, Length: len(strings.Fields(ctx)),
			Dataset: "lcc", Language: "python", ID: hex.EncodeToString(sum[:24])}
		rows = append(rows, row)
		row.Context = tailLines(ctx, tok, o.tail)
		row.Length = len(strings.Fields(row.Context))
		tails = append(tails, row)
	}
	return rows, tails
}

// cut picks the line to complete: a random line of at least 8 non-blank
// characters whose preceding text holds minTokens to maxTokens tokens.
func cut(text string, tok tokenizer.Tokenizer, o options, r *rand.Rand) (ctx, answer string, ok bool) {
	lines := strings.SplitAfter(text, "\n")
	var cands []int
	for k, l := range lines {
		if len(strings.TrimSpace(l)) >= 8 && strings.HasSuffix(l, "\n") {
			cands = append(cands, k)
		}
	}
	// Try a few random cuts: the token count of a prefix is only known
	// once it is tokenized.
	for range 4 {
		if len(cands) == 0 {
			return "", "", false
		}
		j := r.IntN(len(cands))
		k := cands[j]
		ctx = strings.Join(lines[:k], "")
		n := len(tok.Encode(ctx))
		switch {
		case n < o.minTokens:
			cands = cands[j+1:]
		case n > o.maxTokens:
			cands = cands[:j]
		default:
			return ctx, strings.TrimSuffix(lines[k], "\n"), true
		}
	}
	return "", "", false
}

// tailLines is the whole lines of ctx within its last n tokens.
func tailLines(ctx string, tok tokenizer.Tokenizer, n int) string {
	if n <= 0 {
		return ctx
	}
	ids := tok.Encode(ctx)
	if len(ids) <= n {
		return ctx
	}
	tail := tok.Decode(ids[len(ids)-n:])
	if i := strings.IndexByte(tail, '\n'); i >= 0 {
		return tail[i+1:]
	}
	return ""
}

func writeRows(path string, rows []longbench.Row) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, row := range rows {
			if err := enc.Encode(row); err != nil {
				return err
			}
		}
		return nil
	})
}
