package main

import (
	"context"
	"fmt"

	"github.com/sdtp/sdtp/bench"
	"github.com/sdtp/sdtp/report"
)

func init() {
	register(command{name: "report", summary: "render a bench result as markdown tables in the shape of the SDTP paper's Table 2", run: runReport})
}

func runReport(_ context.Context, e *env, args []string) error {
	fs := newFlags(e, "report", "report --bench FILE [--out FILE]")
	file := fs.String("bench", "", "bench result (the "+benchJSON+" that 'sdtp bench' writes)")
	out := fs.String("out", "", "write the markdown to this file instead of stdout")
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
	if *out != "" {
		return writeReportFile(*out, res)
	}
	return report.Write(e.stdout, res)
}
