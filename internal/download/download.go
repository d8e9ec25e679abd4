// Package download fetches one file over HTTP the way a user's data should
// arrive: resumable (a partial PATH.part continues with a Range request),
// checked (against a given SHA-256, or the one the server publishes, as
// Hugging Face does for files stored in LFS), placed atomically, and usable
// offline (a file dropped at PATH is verified and used without the
// network). LongBench's data.zip and databricks-dolly-15k come this way.
package download

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sdtp/sdtp/internal/atomicfile"
)

// Options configures File.
type Options struct {
	URL  string // what to fetch
	Path string // where it goes (its folder is made only once data arrives)
	// SHA256 is the expected checksum (hex). When empty, the checksum the
	// server publishes (Hugging Face's X-Linked-Etag) is used, if any.
	SHA256   string
	Client   *http.Client // nil: a default client, redirects followed
	Progress io.Writer    // byte progress lines; nil for none
}

// Result says what File did.
type Result struct {
	Path     string
	SHA256   string // the file's checksum
	Verified string // where the expected checksum came from: "--sha256", "server", "recorded", or "" (not verified)
	Fetched  int64  // bytes transferred in this call
	Resumed  bool   // the transfer continued a partial download
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// partMeta is kept beside PATH.part so a resumed transfer asks for the
// same file (If-Range) and still knows the checksum the server published.
type partMeta struct {
	URL       string `json:"url"`
	Validator string `json:"validator"` // ETag or Last-Modified of the file being fetched
	SHA256    string `json:"sha256"`    // checksum the server published, if any
}

// File fetches opt.URL into opt.Path (resuming a partial transfer with an
// HTTP Range request), verifies its checksum and places it atomically. A
// file already at opt.Path is verified without any network access (against
// opt.SHA256, or the checksum recorded beside it when it was downloaded),
// so a file fetched elsewhere can be dropped there.
func File(ctx context.Context, opt Options) (Result, error) {
	opt.SHA256 = strings.ToLower(strings.TrimSpace(opt.SHA256))
	if opt.SHA256 != "" && !sha256Hex.MatchString(opt.SHA256) {
		return Result{}, fmt.Errorf("--sha256 %q: want 64 hex digits", opt.SHA256)
	}
	res := Result{Path: opt.Path}
	recorded := res.Path + ".sha256"
	if _, err := os.Stat(res.Path); errors.Is(err, os.ErrNotExist) {
		if err := fetch(ctx, opt, &res); err != nil {
			return res, err
		}
	} else if err != nil {
		return res, err
	} else {
		sum, err := FileSHA256(res.Path)
		if err != nil {
			return res, err
		}
		res.SHA256 = sum
		if b, err := os.ReadFile(recorded); err == nil && opt.SHA256 == "" {
			if want := strings.TrimSpace(string(b)); want != sum {
				return res, fmt.Errorf("%s has sha256 %s, but %s recorded %s when it was downloaded; delete both and download again", res.Path, sum, recorded, want)
			}
			res.Verified = "recorded"
		}
		if opt.SHA256 != "" {
			if sum != opt.SHA256 {
				return res, fmt.Errorf("%s has sha256 %s, --sha256 says %s; delete it and download again", res.Path, sum, opt.SHA256)
			}
			res.Verified = "--sha256"
		}
	}
	if res.Verified != "" {
		if err := atomicfile.WriteFile(recorded, []byte(res.SHA256+"\n")); err != nil {
			return res, err
		}
	}
	return res, nil
}

// fetch downloads opt.URL to opt.Path via PATH.part.
func fetch(ctx context.Context, opt Options, res *Result) error {
	part, metaPath := res.Path+".part", res.Path+".part.json"
	var meta partMeta
	if b, err := os.ReadFile(metaPath); err == nil {
		if json.Unmarshal(b, &meta) != nil || meta.URL != opt.URL {
			meta = partMeta{}
		}
	}
	have := int64(0)
	if st, err := os.Stat(part); err == nil && meta.URL != "" {
		have = st.Size()
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, opt.URL, nil)
	if err != nil {
		return fmt.Errorf("--url %q: %w", opt.URL, err)
	}
	if have > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
		if meta.Validator != "" {
			req.Header.Set("If-Range", meta.Validator)
		}
	}
	client := opt.Client
	if client == nil {
		client = &http.Client{}
	}
	published := ""
	c := *client
	c.CheckRedirect = func(r *http.Request, via []*http.Request) error {
		if r.Response != nil && published == "" {
			published = linkedSHA256(r.Response.Header)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	resp, err := c.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return offlineError(opt, err)
	}
	defer resp.Body.Close()
	if published == "" {
		published = linkedSHA256(resp.Header)
	}

	var f *os.File
	switch resp.StatusCode {
	case http.StatusPartialContent:
		start, total, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != have {
			return fmt.Errorf("%s: the server answered the range request with %q; delete %s and try again", opt.URL, resp.Header.Get("Content-Range"), part)
		}
		res.Resumed = true
		if published == "" {
			published = meta.SHA256
		}
		if f, err = os.OpenFile(part, os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
			return err
		}
		if opt.Progress != nil {
			fmt.Fprintf(opt.Progress, "resuming %s at %d of %d bytes\n", opt.URL, have, total)
		}
	case http.StatusOK:
		have = 0
		// The folder is made only now that there is something to put in
		// it: a failed attempt (offline, a wrong URL) leaves nothing.
		if err := os.MkdirAll(filepath.Dir(opt.Path), 0o755); err != nil {
			return err
		}
		if f, err = os.Create(part); err != nil {
			return err
		}
	case http.StatusRequestedRangeNotSatisfiable:
		// The part may already be complete; start over if it is not.
		_, total, _ := parseContentRange(resp.Header.Get("Content-Range"))
		if total != have {
			os.Remove(part)
			os.Remove(metaPath)
			return fmt.Errorf("%s: the partial download does not fit the file on the server; run again to start over", opt.URL)
		}
		published = meta.SHA256
	default:
		return fmt.Errorf("%s: HTTP %s", opt.URL, resp.Status)
	}
	if f != nil {
		validator := resp.Header.Get("ETag")
		if validator == "" {
			validator = resp.Header.Get("Last-Modified")
		}
		if err := writeJSONAtomic(metaPath, partMeta{URL: opt.URL, Validator: validator, SHA256: published}); err != nil {
			f.Close()
			return err
		}
		n, err := io.Copy(f, &progressReader{r: resp.Body, w: opt.Progress, name: filepath.Base(opt.Path), done: have, total: have + resp.ContentLength})
		res.Fetched = n
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("download stopped after %d bytes (run again to resume): %w", have+n, ctx.Err())
			}
			return fmt.Errorf("download of %s interrupted after %d bytes (run again to resume): %w", opt.URL, have+n, err)
		}
		if resp.ContentLength >= 0 && n != resp.ContentLength {
			return fmt.Errorf("download of %s interrupted after %d of %d bytes (run again to resume)", opt.URL, have+n, have+resp.ContentLength)
		}
	}

	sum, err := FileSHA256(part)
	if err != nil {
		return err
	}
	res.SHA256 = sum
	want, from := opt.SHA256, "--sha256"
	if want == "" && published != "" {
		want, from = published, "server"
	}
	if want != "" {
		if sum != want {
			os.Remove(part)
			os.Remove(metaPath)
			return fmt.Errorf("downloaded %s has sha256 %s, but %s says %s; the partial file was deleted, run again", opt.URL, sum, from, want)
		}
		res.Verified = from
	}
	if err := os.Rename(part, res.Path); err != nil {
		return err
	}
	os.Remove(metaPath)
	return nil
}

// linkedSHA256 returns the checksum Hugging Face publishes for an LFS file
// (X-Linked-Etag), or an ETag that is a sha256, or "".
func linkedSHA256(h http.Header) string {
	for _, k := range []string{"X-Linked-Etag", "ETag"} {
		v := strings.ToLower(strings.Trim(strings.TrimPrefix(h.Get(k), "W/"), `"`))
		if sha256Hex.MatchString(v) {
			return v
		}
	}
	return ""
}

// parseContentRange reads "bytes START-END/TOTAL" or "bytes */TOTAL".
func parseContentRange(v string) (start, total int64, ok bool) {
	rest, found := strings.CutPrefix(v, "bytes ")
	if !found {
		return 0, 0, false
	}
	span, tot, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, false
	}
	total, err := strconv.ParseInt(tot, 10, 64)
	if err != nil {
		total = -1
	}
	if span == "*" {
		return 0, total, true
	}
	s, _, found := strings.Cut(span, "-")
	start, err = strconv.ParseInt(s, 10, 64)
	return start, total, found && err == nil
}

// offlineError explains a failed connection and the offline way round it.
func offlineError(opt Options, err error) error {
	host := opt.URL
	if u, perr := url.Parse(opt.URL); perr == nil && u.Host != "" {
		host = u.Host
	}
	return fmt.Errorf("cannot reach %s (%v). If this machine is offline, fetch %s on another machine, copy it to %s and run this command again: it verifies a file that is already there", host, err, opt.URL, opt.Path)
}

// FileSHA256 returns the hex SHA-256 of the file at path.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func writeJSONAtomic(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, append(b, '\n'))
}

// progressReader reports transferred bytes to w at most twice a second.
type progressReader struct {
	r           io.Reader
	w           io.Writer
	name        string
	done, total int64
	last        time.Time
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += int64(n)
	if p.w != nil && (time.Since(p.last) > 500*time.Millisecond || err != nil) {
		p.last = time.Now()
		if p.total > 0 {
			fmt.Fprintf(p.w, "\r%s: %.1f of %.1f MB", p.name, float64(p.done)/1e6, float64(p.total)/1e6)
		} else {
			fmt.Fprintf(p.w, "\r%s: %.1f MB", p.name, float64(p.done)/1e6)
		}
		if err != nil {
			fmt.Fprintln(p.w)
		}
	}
	return n, err
}
