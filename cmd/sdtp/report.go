package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/sdtp/sdtp/bench"
	"github.com/sdtp/sdtp/report"
)

func init() {
	register(command{name: "report", summary: "render a bench result as markdown tables in the shape of the SDTP paper's Table 2", run: runReport})
}

func runReport(_ context.Context, e *env, args []string) error {
	fs := newFlags(e, "report", "report --bench FILE [--longbench [CONFIG=]DIR ...] [--out FILE]")
	file := fs.String("bench", "", "bench result (the "+benchJSON+" that 'sdtp bench' writes)")
	out := fs.String("out", "", "write the markdown to this file instead of stdout")
	var lb longbenchFlag
	fs.Var(&lb, "longbench", "LongBench predictions folder of one configuration, as CONFIG=DIR (or DIR, named after the folder); repeat for each configuration to add the quality-versus-speed table")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *file == "" {
		return fmt.Errorf("--bench is required")
	}
	res, err := bench.Load(*file)
	if err != nil {
		return fmt.Errorf("--bench: %w", err)
	}
	q, err := lb.score(e, res)
	if err != nil {
		return err
	}
	if *out != "" {
		return writeReportFile(*out, res, q)
	}
	return report.Write(e.stdout, res, q)
}

// longbenchFlag collects repeated --longbench [CONFIG=]DIR values.
type longbenchFlag []report.LongBenchRun

func (f *longbenchFlag) String() string {
	var s []string
	for _, r := range *f {
		s = append(s, r.Config+"="+r.Dir)
	}
	return strings.Join(s, " ")
}

func (f *longbenchFlag) Set(v string) error {
	r, err := report.ParseLongBenchRun(v)
	if err != nil {
		return err
	}
	*f = append(*f, r)
	return nil
}

// score scores the runs, or returns nil when none were given; it warns on
// stderr of runs whose model is not the one res measured.
func (f longbenchFlag) score(e *env, res *bench.Result) (*report.Quality, error) {
	if len(f) == 0 {
		return nil, nil
	}
	q, err := report.ScoreLongBench(f)
	if err != nil {
		return nil, fmt.Errorf("--longbench: %w", err)
	}
	for _, w := range q.ModelWarnings(res) {
		fmt.Fprintf(e.stderr, "warning: %s\n", w)
	}
	return q, nil
}
