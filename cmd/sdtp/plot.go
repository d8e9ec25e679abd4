package main

import (
	"context"
	"fmt"
	"slices"

	"github.com/sdtp/sdtp/bench"
	"github.com/sdtp/sdtp/plot"
)

func runPlot(_ context.Context, e *env, args []string) error {
	fs := newFlags(e, "plot", "plot --bench FILE [--longbench [CONFIG=]DIR ...] --out DIR [--formats png,svg]")
	var in benchInput
	in.register(fs, "figure")
	out := fs.String("out", "", "folder for the figures (created if missing)")
	formats := fs.String("formats", "png,svg", "figure formats, comma-separated: png, svg")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("--out is required")
	}
	fmts, err := parseFormats(*formats)
	if err != nil {
		return err
	}
	res, q, err := in.load(e)
	if err != nil {
		return err
	}
	var scores []bench.Quality
	if q != nil {
		scores = q.Scores
	}
	paths, err := plot.Write(*out, res, scores, fmts...)
	if err != nil {
		return fmt.Errorf("--out %s: %w", *out, err)
	}
	for _, p := range paths {
		fmt.Fprintln(e.stdout, p)
	}
	return nil
}

// parseFormats reads --formats: figure formats, comma-separated.
func parseFormats(s string) ([]string, error) {
	fmts := splitList(s)
	for _, f := range fmts {
		if !slices.Contains(plot.Formats, f) {
			return nil, fmt.Errorf("--formats: unknown format %q (have %v)", f, plot.Formats)
		}
	}
	if len(fmts) == 0 {
		return nil, fmt.Errorf("--formats: no format given")
	}
	return fmts, nil
}
