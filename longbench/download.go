package longbench

import (
	"context"
	"io"
	"net/http"
	"path/filepath"

	"github.com/sdtp/sdtp/internal/download"
)

// DefaultDataURL is the official LongBench v1 data archive on Hugging Face.
const DefaultDataURL = "https://huggingface.co/datasets/THUDM/LongBench/resolve/main/data.zip"

// DownloadOptions configures Download.
type DownloadOptions struct {
	URL string // archive URL; DefaultDataURL when empty
	Dir string // data.zip and the unpacked data/ go here
	// SHA256 is the expected checksum of data.zip. When empty, the
	// checksum the server publishes (Hugging Face's X-Linked-Etag for
	// files stored in LFS) is used, if any.
	SHA256   string
	Client   *http.Client // nil: http.DefaultClient's transport with redirects followed
	Progress io.Writer    // byte progress lines; nil for none
}

// DownloadResult says what Download did.
type DownloadResult struct {
	Zip      string // path of data.zip
	SHA256   string // its checksum
	Verified string // where the expected checksum came from: "--sha256", "server", "recorded", or "" (not verified)
	Fetched  int64  // bytes transferred in this call
	Resumed  bool   // the transfer continued a partial download
	Files    []FileCheck
}

// Download fetches data.zip into opt.Dir (resumable, checksum-verified,
// placed atomically: internal/download) and unpacks the data files into
// opt.Dir/data (see Unpack). A data.zip already in opt.Dir is verified and
// unpacked without any network access, so an archive fetched elsewhere can
// be dropped there.
func Download(ctx context.Context, opt DownloadOptions) (DownloadResult, error) {
	if opt.URL == "" {
		opt.URL = DefaultDataURL
	}
	zip := filepath.Join(opt.Dir, "data.zip")
	r, err := download.File(ctx, download.Options{URL: opt.URL, Path: zip, SHA256: opt.SHA256, Client: opt.Client, Progress: opt.Progress})
	res := DownloadResult{Zip: zip, SHA256: r.SHA256, Verified: r.Verified, Fetched: r.Fetched, Resumed: r.Resumed}
	if err != nil {
		return res, err
	}
	files, err := Unpack(res.Zip, opt.Dir)
	res.Files = files
	return res, err
}
