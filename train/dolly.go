package train

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"

	"github.com/sdtp/sdtp/internal/download"
	"github.com/sdtp/sdtp/train/data"
)

// DollyURL is databricks-dolly-15k on Hugging Face, at a fixed revision of
// the dataset (bdd27f4d), so the file behind it does not change.
const DollyURL = "https://huggingface.co/datasets/databricks/databricks-dolly-15k/resolve/bdd27f4d94b9c1f951818a7da7fd7aeea5dbff1a/databricks-dolly-15k.jsonl"

// DollyFile is the file's name.
const DollyFile = "databricks-dolly-15k.jsonl"

// DollyRows is the number of rows of databricks-dolly-15k.
const DollyRows = 15011

// DollyOptions configures DownloadDolly.
type DollyOptions struct {
	URL      string // DollyURL when empty
	Dir      string // the file goes to Dir/DollyFile
	SHA256   string // expected checksum; empty: the one Hugging Face publishes
	Client   *http.Client
	Progress io.Writer
}

// DollyResult says what DownloadDolly did.
type DollyResult struct {
	download.Result
	Rows int // dolly rows read back from the file
}

// DownloadDolly fetches databricks-dolly-15k (resumable, checksum-verified,
// placed atomically; a file already in Dir is verified without the
// network) and reads it back as dolly rows: every row must parse and there
// must be DollyRows of them.
func DownloadDolly(ctx context.Context, opt DollyOptions) (DollyResult, error) {
	if opt.URL == "" {
		opt.URL = DollyURL
	}
	r, err := download.File(ctx, download.Options{URL: opt.URL, Path: filepath.Join(opt.Dir, DollyFile), SHA256: opt.SHA256, Client: opt.Client, Progress: opt.Progress})
	res := DollyResult{Result: r}
	if err != nil {
		return res, err
	}
	rows, err := data.ReadFile(r.Path, data.FormatDolly)
	if err != nil {
		return res, err
	}
	res.Rows = len(rows)
	if res.Rows != DollyRows {
		return res, fmt.Errorf("%s has %d dolly rows, databricks-dolly-15k has %d: not the expected file", r.Path, res.Rows, DollyRows)
	}
	return res, nil
}
