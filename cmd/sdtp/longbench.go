package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sdtp/sdtp/evalrun"
	"github.com/sdtp/sdtp/internal/atomicfile"
	"github.com/sdtp/sdtp/internal/progress"
	"github.com/sdtp/sdtp/internal/runmeta"
	"github.com/sdtp/sdtp/longbench"
	"github.com/sdtp/sdtp/tokenizer"
)

// longbenchVerbs are the sub-commands of `sdtp longbench`.
var longbenchVerbs = []verb{
	{"download", "fetch and unpack the THUDM/LongBench data.zip (resumable, checksummed)", lbDownload},
	{"validate", "check every data file's rows, fields, types and counts", lbValidate},
	{"tasks", "list the 21 tasks: language, category, metric, max new tokens, chat template", lbTasks},
	{"prompt", "print exactly the prompt the runner sends for one row", lbPrompt},
	{"run", "generate predictions for the tasks (resumable JSONL per task)", lbRun},
	{"merge", "join the folders of a sharded run (run --shard I/N) into one run folder", lbMerge},
	{"score", "score prediction files with the official metrics", lbScore},
	{"report", "markdown table comparing runs with the first (baseline)", lbReport},
}

func runLongbench(ctx context.Context, e *env, args []string) error {
	return runVerb(ctx, e, "longbench", "", longbenchVerbs, args)
}

func lbDownload(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "longbench download", "longbench download [--dir D] [--url U] [--sha256 HEX]")
	var df downloadFlags
	df.register(fs, "longbench-data", "folder for data.zip and the unpacked data/ files", longbench.DefaultDataURL, "URL of the LongBench data.zip (tests point it at a local server)", "data.zip")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	res, err := longbench.Download(ctx, longbench.DownloadOptions{URL: df.url, Dir: df.dir, SHA256: df.sha256, Progress: df.progress(e)})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s sha256 %s (%s)\n", res.Zip, res.SHA256, verifiedNote(res.Verified))
	rows := 0
	for _, f := range res.Files {
		rows += f.Rows
	}
	fmt.Fprintf(e.stdout, "%d files, %d rows valid in %s\n", len(res.Files), rows, filepath.Join(df.dir, "data"))
	return nil
}

func lbValidate(_ context.Context, e *env, args []string) error {
	fs := newFlags(e, "longbench validate", "longbench validate [--dir D]")
	dir := fs.String("dir", "longbench-data", "folder holding data/<task>.jsonl (as download leaves it)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fi, err := os.Stat(*dir); err != nil || !fi.IsDir() {
		if err == nil {
			err = errors.New("not a folder")
		}
		return fmt.Errorf("--dir %s: %w (download the data with 'sdtp longbench download --dir %s')", *dir, err, *dir)
	}
	checks := longbench.Validate(*dir)
	bad, err := longbench.WriteChecks(e.stdout, checks)
	if err == nil && bad > 0 {
		err = fmt.Errorf("%d of %d data files in %s have problems", bad, len(checks), *dir)
	}
	return err
}

func lbTasks(_ context.Context, e *env, args []string) error {
	fs := newFlags(e, "longbench tasks", "longbench tasks")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	return longbench.WriteTasks(e.stdout)
}

func lbPrompt(_ context.Context, e *env, args []string) error {
	fs := newFlags(e, "longbench prompt", "longbench prompt --data FILE [--task T] [--index I] [--tokenizer TOK [--max-length L] [--positions P]] [--chat-template NAME]")
	data := fs.String("data", "", "a LongBench data file (data/<task>.jsonl or <task>_e.jsonl) (required)")
	taskName := fs.String("task", "", "task whose template to use (default: from the file name)")
	index := fs.Int("index", 0, "row to show, counting from 0")
	tokPath := fs.String("tokenizer", "", "tokenizer (tokenizer.json, tokenizer.bin or a folder) for truncation and the token count")
	maxLen := fs.Int("max-length", 0, "truncate the prompt in the middle to this many tokens, as the runner does (needs --tokenizer; 0: no truncation, or with --positions the runner's default)")
	positions := fs.Int("positions", 0, "the model's positions: fit the prompt to them as the runner does, leaving room for the task's new tokens and the chat template (needs --tokenizer)")
	tmplName := fs.String("chat-template", "", longbench.TemplateHelp())
	if err := parseFlags(fs, args, "data"); err != nil {
		return err
	}
	f, err := os.Open(*data)
	if err != nil {
		return fmt.Errorf("--data: %w", err)
	}
	rows, err := longbench.ReadRows(f, *data)
	f.Close()
	if err != nil {
		return err
	}
	name := *taskName
	if name == "" {
		name = strings.TrimSuffix(strings.TrimSuffix(filepath.Base(*data), ".jsonl"), "_e")
		if _, err := longbench.LookupTask(name); err != nil {
			return fmt.Errorf("--data %s: the file name is not a task name; give --task", *data)
		}
	}
	task, err := longbench.LookupTask(name)
	if err != nil {
		return fmt.Errorf("--task: %w", err)
	}
	if *index < 0 || *index >= len(rows) {
		return fmt.Errorf("--index %d: %s has %d rows", *index, *data, len(rows))
	}
	var opt longbench.PromptOptions
	var tok tokenizer.Tokenizer
	if *tokPath != "" {
		if tok, err = tokenizer.Load(*tokPath); err != nil {
			return fmt.Errorf("--tokenizer: %w", err)
		}
		opt.Tokenizer = tok
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"--max-length", *maxLen}, {"--positions", *positions}} {
		switch {
		case f.v != 0 && tok == nil:
			return fmt.Errorf("%s needs --tokenizer", f.name)
		case f.v < 0 || f.v == 1:
			return fmt.Errorf("%s %d: want 0 or at least 2", f.name, f.v)
		}
	}
	opt.MaxLength, opt.Positions = *maxLen, *positions
	if opt.Template, _, err = longbench.ResolveTemplate(*tmplName, *tokPath); err != nil {
		return err
	}
	if _, err := opt.MaxLengthFor(task); err != nil {
		return fmt.Errorf("--max-length/--positions: %w", err)
	}
	prompt, err := longbench.BuildPrompt(task, rows[*index], opt)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(e.stdout, prompt); err != nil {
		return err
	}
	if tok != nil {
		fmt.Fprintf(e.stderr, "\n[%d tokens]\n", len(longbench.EncodePrompt(tok, prompt)))
	}
	return nil
}

func lbRun(ctx context.Context, e *env, args []string) error {
	cfg, closeEngine, err := lbRunConfig(e, args)
	if err != nil {
		return err
	}
	defer closeEngine()
	return runLongbenchConfig(ctx, e, cfg)
}

// runLongbenchConfig runs cfg and says what it did; rows that failed make
// it an error, after the run.
func runLongbenchConfig(ctx context.Context, e *env, cfg longbench.RunConfig) error {
	return runSuite(e, "longbench", cfg.Out, func(p *evalrun.Progress) (evalrun.Stats, error) {
		cfg.Progress = p
		return longbench.Run(ctx, cfg)
	})
}

// runSuite runs an evaluation suite's rows into the folder out, showing
// progress on stderr, and says what it did; rows that failed make it an
// error, after the run.
func runSuite(e *env, suite, out string, run func(*evalrun.Progress) (evalrun.Stats, error)) error {
	pr := progress.New(e.stderr)
	st, err := run(&evalrun.Progress{
		Report: func(p evalrun.RunProgress) {
			pr.Update(suite, p.Done, p.Total, "task", p.Task, "row", fmt.Sprintf("%d/%d", p.TaskDone, p.TaskRows))
		},
		Failed: func(task, id string, err error) {
			pr.Warn(suite+" row failed", "task", task, "_id", id, "error", err)
		},
	})
	pr.End()
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%d rows generated, %d already done, %d failed, in %s\n", st.Generated, st.Resumed, st.Failed, out)
	if st.Failed > 0 {
		return fmt.Errorf("%d rows failed: they are in the prediction files with their error and score 0; run the same command again to retry them", st.Failed)
	}
	return nil
}

// lbRunConfig parses the flags of 'longbench run' and opens the model:
// everything but the run. The returned function closes the model.
func lbRunConfig(e *env, args []string) (longbench.RunConfig, func(), error) {
	var none longbench.RunConfig
	fs := newFlags(e, "longbench run", "longbench run --model M --data D --out DIR [--tasks T,...] [--prune-module F --prune P] [--limit K] [flags]")
	o, pf := registerModel(fs, "")
	data := fs.String("data", "longbench-data", "folder holding data/<task>.jsonl (as download leaves it)")
	taskList := fs.String("tasks", "all", "comma-separated tasks, or all, en, zh, code")
	eFlag := fs.Bool("e", false, "run on LongBench-E (<task>_e.jsonl; 13 tasks)")
	limit := fs.Int("limit", 0, "only the first K rows of each task (0: all)")
	out := fs.String("out", "", "output folder: one <task>.jsonl of predictions per task and meta.json (required; a run resumes there)")
	maxLen := fs.Int("max-length", 0, "truncate prompts in the middle to this many tokens before the chat template (0: per task, the model's positions minus the task's new tokens minus the template's tokens); a prompt that still does not fit is cut shorter")
	tmplName := fs.String("chat-template", "", longbench.TemplateHelp())
	ef := registerEngine(fs)
	hf := registerH2O(fs)
	if err := parseFlags(fs, args, "out"); err != nil {
		return none, nil, err
	}
	kv, err := hf.budget()
	if err != nil {
		return none, nil, err
	}
	if *limit < 0 {
		return none, nil, fmt.Errorf("--limit %d must not be negative", *limit)
	}
	if *maxLen < 0 || *maxLen == 1 {
		return none, nil, fmt.Errorf("--max-length %d: want 0 or at least 2", *maxLen)
	}
	tasks, err := longbench.ParseTasks(*taskList, *eFlag)
	if err != nil {
		return none, nil, fmt.Errorf("--tasks: %w", err)
	}
	if groupsOnly(*taskList) {
		// A group (all, en, zh, code) runs the tasks whose files are there,
		// saying which are not; a task named outright must have its file.
		present, missing := longbench.PresentTasks(*data, tasks, *eFlag)
		if len(present) == 0 {
			return none, nil, fmt.Errorf("--data %s: no data file of the %d tasks of --tasks %s (want data/<task>.jsonl; 'sdtp longbench download' fetches them)", *data, len(tasks), *taskList)
		}
		if len(missing) > 0 {
			fmt.Fprintf(e.stderr, "sdtp longbench run: --tasks %s: %d of %d tasks have no data file in %s and are left out: %s\n", *taskList, len(missing), len(tasks), *data, strings.Join(missing, ", "))
		}
		tasks = present
	}
	eng, err := ef.open(fs, "LongBench", *o, *pf, kv)
	if err != nil {
		return none, nil, err
	}
	sess, closeAll := eng.sess, eng.Close
	tmpl, tmplUsed, err := longbench.ResolveTemplate(*tmplName, o.Tokenizer, o.Model)
	maxPos := sess.M.Config.MaxPos
	if err == nil && maxPos <= 0 && *maxLen == 0 {
		err = fmt.Errorf("the model does not say how many positions it has: give --max-length")
	}
	opt := longbench.PromptOptions{Tokenizer: sess.Tok, MaxLength: *maxLen, Template: tmpl, Positions: max(maxPos, 0)}
	var capped []string
	if err == nil {
		if capped, err = opt.CheckTasks(tasks); err != nil && *maxLen != 0 {
			err = fmt.Errorf("--max-length: %w", err)
		}
	}
	if err != nil {
		closeAll()
		return none, nil, err
	}
	meta := longbench.RunMeta{Meta: runmeta.New(e.argv), Info: map[string]string{"device": sess.B.Device(), "model_name": sess.M.Config.Name},
		Settings: map[string]string{"model": o.Model, "tokenizer": o.Tokenizer, "backend": sess.B.Name(), "pruning": pf.String(),
			"chat_template": tmplUsed, "longbench_e": strconv.FormatBool(*eFlag), "max_length": strconv.Itoa(*maxLen)}}
	if *maxLen == 0 {
		meta.Settings["max_length"] = "default: positions - new tokens - chat template"
	}
	if kv != nil { // absent without: folders of earlier versions resume
		meta.Settings["h2o"] = kv.String()
	}
	if eng.shard.On() {
		// A shard's rows are those of its tasks' first --limit rows: the
		// shards of one run, and their merge, must agree on it.
		meta.Settings["limit"] = strconv.Itoa(*limit)
	}
	eng.info(meta.Info)
	if len(capped) > 0 {
		meta.Info["new_tokens_capped"] = strings.Join(capped, ", ")
		fmt.Fprintf(e.stderr, "note: the model's %d positions cap the new tokens at half of them: %s\n", opt.Positions, meta.Info["new_tokens_capped"])
	}
	return longbench.RunConfig{Data: *data, Tasks: tasks, E: *eFlag, Limit: *limit, Out: *out, Prompt: opt, Generator: eng.gen,
		InFlight: eng.inFlight, Shard: eng.shard, Meta: meta}, closeAll, nil
}

func lbMerge(_ context.Context, e *env, args []string) error {
	fs := newFlags(e, "longbench merge", "longbench merge --out DIR [--data D] SHARD_DIR...")
	data := fs.String("data", "longbench-data", "folder holding data/<task>.jsonl, as the shards were run with: the rows every shard split")
	out := fs.String("out", "", "the merged run folder (required; must not exist)")
	if err := parseArgs(fs, args, "out"); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fmt.Fprintf(fs.Output(), "sdtp %s: name the shard folders\n", fs.Name())
		fs.Usage()
		return errUsage
	}
	st, err := longbench.Merge(*data, *out, fs.Args())
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%d rows of %d tasks from %d shards in %s\n", st.Rows, st.Tasks, fs.NArg(), *out)
	return nil
}

func lbScore(_ context.Context, e *env, args []string) error {
	fs := newFlags(e, "longbench score", "longbench score --preds DIR [--e] [--json]")
	preds := fs.String("preds", "", "folder of <task>.jsonl prediction files (pred, answers, all_classes, length per row) (required)")
	eFlag := fs.Bool("e", false, "LongBench-E: scores by length bucket (0-4k, 4-8k, 8k+)")
	asJSON := fs.Bool("json", false, `print {"task": score, ...} (with --e, {"task": {"0-4k": ..., ...}}) as eval.py's result.json`)
	if err := parseFlags(fs, args, "preds"); err != nil {
		return err
	}
	scores, err := longbench.ScoreDir(*preds, *eFlag)
	if err != nil {
		return fmt.Errorf("--preds: %w", err)
	}
	for _, s := range scores {
		if s.Torn {
			fmt.Fprintf(e.stderr, "warning: %s.jsonl ends in a line cut short (a run still writing or killed); it was left out\n", s.Task.Name)
		}
		if s.Failed > 0 {
			fmt.Fprintf(e.stderr, "warning: %d of the %d rows of %s.jsonl failed in the run and score 0 (see their error field)\n", s.Failed, s.Rows, s.Task.Name)
		}
	}
	if *asJSON {
		return longbench.WriteScoresJSON(e.stdout, scores, *eFlag)
	}
	return longbench.WriteScores(e.stdout, scores, *eFlag)
}

func lbReport(_ context.Context, e *env, args []string) error {
	fs := newFlags(e, "longbench report", "longbench report --runs DIR1,DIR2,... [--out FILE]")
	runs := fs.String("runs", "", "comma-separated prediction folders; the first is the baseline (required)")
	outPath := fs.String("out", "", "write the markdown here instead of stdout")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	dirs := splitList(*runs)
	if len(dirs) == 0 {
		return missingFlag(fs, "runs")
	}
	rs, err := longbench.ScoreRuns(dirs)
	if err != nil {
		return fmt.Errorf("--runs: %w", err)
	}
	if *outPath == "" {
		return longbench.WriteReport(e.stdout, rs)
	}
	var b strings.Builder
	if err := longbench.WriteReport(&b, rs); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(*outPath, []byte(b.String())); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	return nil
}

// groupsOnly says whether a --tasks list names only groups of tasks (all,
// en, zh, code), no task by name.
func groupsOnly(list string) bool {
	for _, name := range strings.Split(list, ",") {
		switch strings.TrimSpace(name) {
		case "", "all", "en", "zh", "code":
		default:
			return false
		}
	}
	return true
}
