package main

import (
	"context"
	"fmt"

	"github.com/sdtp/sdtp/train"
)

// runTrainDownload fetches databricks-dolly-15k, the SDTP paper's training data.
func runTrainDownload(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "train download", "train download [--dir D] [--url U] [--sha256 HEX]")
	dir := fs.String("dir", "dolly-data", "folder for "+train.DollyFile+" (made once data arrives); a file already there is verified without the network")
	url := fs.String("url", train.DollyURL, "URL of databricks-dolly-15k.jsonl (a fixed revision of the Hugging Face dataset; tests point it at a local server)")
	sum := fs.String("sha256", "", "expected sha256 of the file; default: the checksum the server publishes (Hugging Face X-Linked-Etag)")
	quiet := fs.Bool("quiet", false, "no byte progress on stderr")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	opt := train.DollyOptions{URL: *url, Dir: *dir, SHA256: *sum}
	if !*quiet {
		opt.Progress = e.stderr
	}
	res, err := train.DownloadDolly(ctx, opt)
	if err != nil {
		return err
	}
	verified := "not verified: no checksum given or published; pin it with --sha256"
	if res.Verified != "" {
		verified = "verified against " + res.Verified
	}
	fmt.Fprintf(e.stdout, "%s sha256 %s (%s)\n%d dolly rows; train with: sdtp train --recipe paper --data %s ...\n", res.Path, res.SHA256, verified, res.Rows, res.Path)
	return nil
}
