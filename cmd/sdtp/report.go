package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/sdtp/sdtp/bench"
	"github.com/sdtp/sdtp/report"
)

func runReport(_ context.Context, e *env, args []string) error {
	fs := newFlags(e, "report", "report --bench FILE [--longbench [CONFIG=]DIR ...] [--out FILE]")
	var in benchInput
	in.register(fs, "table")
	out := fs.String("out", "", "write the markdown to this file instead of stdout")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	res, q, err := in.load(e)
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

// benchInput is what report and plot read: a bench result (--bench) and
// LongBench runs of its configurations (--longbench).
type benchInput struct {
	file string
	lb   longbenchFlag
}

// register adds --bench and --longbench; what names the table or figure
// the LongBench runs add.
func (in *benchInput) register(fs *flag.FlagSet, what string) {
	fs.StringVar(&in.file, "bench", "", "bench result (the "+benchJSON+" that 'sdtp bench' writes)")
	fs.Var(&in.lb, "longbench", "LongBench predictions folder of one configuration, as CONFIG=DIR (or DIR, named after the folder); repeat for each configuration to add the quality-versus-speed "+what)
}

// load reads the bench result and scores the LongBench runs (nil quality
// when none were given), warning on stderr of runs whose model is not the
// one the bench measured.
func (in *benchInput) load(e *env) (*bench.Result, *report.Quality, error) {
	file, lb := in.file, in.lb
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
