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
	res, q, err := loadBench(e, *file, lb)
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

// loadBench reads the --bench result of report and plot and scores their
// --longbench runs (nil quality when none were given), warning on stderr
// of runs whose model is not the one the bench measured.
func loadBench(e *env, file string, lb longbenchFlag) (*bench.Result, *report.Quality, error) {
	if file == "" {
		return nil, nil, fmt.Errorf("--bench is required")
	}
	res, err := bench.Load(file)
	if err != nil {
		return nil, nil, fmt.Errorf("--bench: %w", err)
	}
	if len(lb) == 0 {
		return res, nil, nil
	}
	q, err := report.ScoreLongBench(lb)
	if err != nil {
		return nil, nil, fmt.Errorf("--longbench: %w", err)
	}
	for _, w := range q.ModelWarnings(res) {
		fmt.Fprintf(e.stderr, "warning: %s\n", w)
	}
	return res, q, nil
}
