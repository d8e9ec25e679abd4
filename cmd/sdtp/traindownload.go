package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/sdtp/sdtp/train"
)

// runTrainDownload fetches databricks-dolly-15k, the SDTP paper's training data.
func runTrainDownload(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "train download", "train download [--dir D] [--url U] [--sha256 HEX]")
	var df downloadFlags
	df.register(fs, "dolly-data", "folder for "+train.DollyFile+" (made once data arrives); a file already there is verified without the network",
		train.DollyURL, "URL of databricks-dolly-15k.jsonl (a fixed revision of the Hugging Face dataset; tests point it at a local server)", "the file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	res, err := train.DownloadDolly(ctx, train.DollyOptions{URL: df.url, Dir: df.dir, SHA256: df.sha256, Progress: df.progress(e)})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s sha256 %s (%s)\n%d dolly rows; train with: sdtp train --recipe paper --data %s ...\n", res.Path, res.SHA256, verifiedNote(res.Verified), res.Rows, res.Path)
	return nil
}

// downloadFlags are the flags of the download verbs.
type downloadFlags struct {
	dir, url, sha256 string
	quiet            bool
}

// register adds --dir, --url, --sha256 and --quiet with their defaults and
// help; file names what is downloaded, for the help of --sha256.
func (f *downloadFlags) register(fs *flag.FlagSet, dir, dirHelp, url, urlHelp, file string) {
	fs.StringVar(&f.dir, "dir", dir, dirHelp)
	fs.StringVar(&f.url, "url", url, urlHelp)
	fs.StringVar(&f.sha256, "sha256", "", "expected sha256 of "+file+"; default: the checksum the server publishes (Hugging Face X-Linked-Etag)")
	fs.BoolVar(&f.quiet, "quiet", false, "no byte progress on stderr")
}

// progress is where the download's byte progress goes (nil with --quiet).
func (f *downloadFlags) progress(e *env) io.Writer {
	if f.quiet {
		return nil
	}
	return e.stderr
}

// verifiedNote says what a download's checksum was checked against.
func verifiedNote(against string) string {
	if against == "" {
		return "not verified: no checksum given or published; pin it with --sha256"
	}
	return "verified against " + against
}
