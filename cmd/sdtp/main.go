// Command sdtp runs, prunes, trains, evaluates and benchmarks long-context
// LLM inference with Saliency-driven Dynamic Token Pruning.
//
// Each subcommand lives in its own file; main holds the table of them and
// only dispatches.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"syscall"
)

// command is one subcommand: a one-line summary, and the function (in the
// command's own file) that parses its arguments and runs it.
type command struct {
	summary string
	run     func(ctx context.Context, env *env, args []string) error
	// verbs are the sub-commands (sdtp NAME VERB ...), named in errors.
	verbs []string
}

// env carries what a command may touch: its streams and the command line.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	argv           []string
}

// commands are the subcommands by name.
var commands = map[string]command{
	"bench":     {summary: "measure end-to-end latency over prompt lengths, baseline vs SDTP schedules (JSON, report, figures); 'bench throughput' measures batched decoding against batch 1", run: runBench, verbs: []string{"throughput"}},
	"generate":  {summary: "generate text from a prompt or a chat message, with or without pruning", run: runGenerate},
	"longbench": {summary: "LongBench v1: download, validate, tasks, prompt, run, score, report", run: runLongbench, verbs: verbNames(longbenchVerbs)},
	"plot":      {summary: "draw a bench result as PNG and SVG figures (latency, speedup, FLOPs, KV cache, heatmap, quality vs speed), or a saliency file's (--saliency)", run: runPlot},
	"prune":     {summary: "pruning-module files: 'prune init' makes a random-weight module for speed work, 'prune show' describes one", run: runPrune, verbs: []string{"init", "show"}},
	"report":    {summary: "render a bench result as markdown tables in the shape of the SDTP paper's Table 2", run: runReport},
	"ruler":     {summary: "RULER-style synthetic long-context tasks: tasks, prompt, run, score, report, plot", run: runRuler, verbs: verbNames(rulerVerbs)},
	"saliency":  {summary: "per-token SDTP saliency (gradient x input of the mean next-token loss) at every block, for a JSONL corpus", run: runSaliency},
	"serve":     {summary: "serve the OpenAI HTTP API (completions, chat, tokenizer) for lm-eval and OpenAI clients, with or without pruning", run: runServe},
	"tokenize":  {summary: "encode text from stdin to token ids, or decode ids to text", run: runTokenize},
	"train":     {summary: "train SDTP pruning modules (LLM frozen); 'train eval' scores them, 'train corpus' samples texts from a model, 'train sweep' runs ablations", run: runTrain, verbs: []string{"eval", "corpus", "bench", "download", "sweep"}},
}

// errUsage marks an error already explained by printed usage text.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signalContext(os.Stderr)
	defer stop()
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, argv: os.Args}
	os.Exit(runMain(ctx, e, os.Args[1:]))
}

// signalContext returns a context that the first SIGINT or SIGTERM
// cancels, so that the command winds down (a server finishes its requests,
// a run its row); a second signal ends the process at once, with the
// shell's code for death by that signal (130 for SIGINT, 143 for SIGTERM).
// The second signal is handled rather than left to its default action,
// which a process started with the signal ignored would not get back.
func signalContext(stderr io.Writer) (context.Context, context.CancelFunc) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-sigs:
		case <-ctx.Done():
			return
		}
		cancel()
		sig := <-sigs
		fmt.Fprintf(stderr, "sdtp: second %v: exiting now\n", sig)
		code := 130
		if sig == syscall.SIGTERM {
			code = 143
		}
		os.Exit(code)
	}()
	return ctx, func() {
		signal.Stop(sigs)
		cancel()
	}
}

func runMain(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 {
		usage(e.stderr)
		return 2
	}
	if isHelp(args[0]) || args[0] == "help" {
		if len(args) > 1 {
			c, ok := commands[args[1]]
			if !ok {
				fmt.Fprintf(e.stderr, "sdtp: unknown command %q\n\n", args[1])
				usage(e.stderr)
				return 2
			}
			_ = c.run(ctx, e, append(args[2:len(args):len(args)], "--help"))
			return 0
		}
		usage(e.stdout)
		return 0
	}
	if args[0] == "version" || args[0] == "--version" {
		fmt.Fprintln(e.stdout, "sdtp", versionString())
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(e.stderr, "sdtp: unknown command %q\n\n", args[0])
		usage(e.stderr)
		return 2
	}
	err := c.run(ctx, e, args[1:])
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	name := args[0]
	if len(args) > 1 && slices.Contains(c.verbs, args[1]) {
		name += " " + args[1]
	}
	fmt.Fprintf(e.stderr, "sdtp %s: %v\n", name, err)
	return 1
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "sdtp: long-context LLM inference with Saliency-driven Dynamic Token Pruning")
	fmt.Fprintln(w, "\nUsage: sdtp COMMAND [flags]   (sdtp COMMAND --help for its flags)\n\nCommands:")
	var names []string
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, commands[n].summary)
	}
	fmt.Fprintf(w, "  %-12s %s\n", "version", "print the version and git revision")
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool { return arg == "-h" || arg == "--help" || arg == "-help" }

// verbUsageOut is where a command taking verbs prints its usage when args
// either ask for help or are empty: stdout when asked for (so
// `sdtp CMD --help | less` works), stderr when the verb is missing.
func verbUsageOut(e *env, args []string) io.Writer {
	if len(args) == 0 {
		return e.stderr
	}
	return e.stdout
}

// flagOutput is the output of the flag sets newFlags makes: stderr, where
// usage errors belong, except while parseFlags holds the text back until
// it knows whether the user asked for help, which goes to stdout.
type flagOutput struct {
	e    *env
	hold bool
	buf  bytes.Buffer
}

func (o *flagOutput) Write(p []byte) (int, error) {
	if o.hold {
		return o.buf.Write(p)
	}
	return o.e.stderr.Write(p)
}

// newFlags makes a flag set for a subcommand whose usage text names the
// command, shows synopsis, and lists every flag. A custom Usage must write
// to fs.Output().
func newFlags(e *env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(&flagOutput{e: e})
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: sdtp %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseArgs parses args with a flag set from newFlags. It prints the usage
// on stdout when it was asked for (and returns flag.ErrHelp), the reason
// and the usage on stderr for a parse failure (and returns errUsage); then
// it refuses the first of the required (string) flags left empty, as
// missingFlag does.
func parseArgs(fs *flag.FlagSet, args []string, required ...string) error {
	out := fs.Output().(*flagOutput) // every flag set comes from newFlags
	out.hold = true
	err := fs.Parse(args)
	out.hold = false
	w := out.e.stderr
	if errors.Is(err, flag.ErrHelp) {
		w = out.e.stdout
	}
	_, _ = out.buf.WriteTo(w)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		return errUsage
	}
	if err != nil {
		return err
	}
	return requireFlags(fs, required)
}

// parseFlags parses args with parseArgs and refuses positional arguments,
// then the first of the required flags left empty.
func parseFlags(fs *flag.FlagSet, args []string, required ...string) error {
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "sdtp %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	return requireFlags(fs, required)
}

// requireFlags returns missingFlag's error for the first of the named
// flags whose value is empty.
func requireFlags(fs *flag.FlagSet, names []string) error {
	for _, name := range names {
		if fs.Lookup(name).Value.String() == "" {
			return missingFlag(fs, name)
		}
	}
	return nil
}

// missingFlag says that a required flag was not given, with the usage, on
// stderr; its error is errUsage.
func missingFlag(fs *flag.FlagSet, name string) error {
	fmt.Fprintf(fs.Output(), "sdtp %s: --%s is required\n", fs.Name(), name)
	fs.Usage()
	return errUsage
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
