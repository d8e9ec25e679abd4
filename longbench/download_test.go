package longbench

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// makeZip builds an archive laid out like the official data.zip (every
// task and LongBench-E file with the official row counts) from small rows;
// edit may change a file's content before it is zipped.
func makeZip(t testing.TB, edit func(name string, content []byte) []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, fc := range dataFiles() {
		var b bytes.Buffer
		for i := range fc.Want {
			r := Row{Input: "q", Context: "c", Answers: []string{"a"}, Length: 100 * i, Dataset: fc.Task.Name,
				Language: fc.Task.Language, ID: fmt.Sprintf("%s-%d-%v", fc.Task.Name, i, fc.E)}
			switch fc.Task.Metric {
			case "classification":
				r.AllClasses = []string{"a", "b"}
			case "retrieval":
				r.Answers = []string{"Paragraph 3"}
			case "retrieval_zh":
				r.Answers = []string{"段落3"}
			}
			line, _ := json.Marshal(r)
			b.Write(line)
			b.WriteByte('\n')
		}
		content := b.Bytes()
		if edit != nil {
			content = edit(fc.File, content)
		}
		w, err := zw.Create(fc.File)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(content)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sumHex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// zipServer serves body as data.zip with Range support and Hugging Face's
// checksum header; abortAt > 0 cuts the first full response after that many
// bytes. It records the Range header of every request.
type zipServer struct {
	*httptest.Server
	mu      sync.Mutex
	ranges  []string
	body    []byte
	abortAt int
	linked  string
}

func newZipServer(t *testing.T, body []byte, linked string, abortAt int) *zipServer {
	s := &zipServer{body: body, linked: linked, abortAt: abortAt}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/redirect" {
			// Hugging Face answers the resolve URL with a redirect that
			// carries the LFS checksum.
			w.Header().Set("X-Linked-Etag", `"`+s.linked+`"`)
			http.Redirect(w, r, "/data.zip", http.StatusFound)
			return
		}
		s.mu.Lock()
		s.ranges = append(s.ranges, r.Header.Get("Range"))
		abort := s.abortAt
		s.abortAt = 0
		s.mu.Unlock()
		w.Header().Set("ETag", `"v1"`)
		if abort > 0 && r.Header.Get("Range") == "" {
			w.Header().Set("Content-Length", fmt.Sprint(len(s.body)))
			w.WriteHeader(http.StatusOK)
			w.Write(s.body[:abort])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}
		http.ServeContent(w, r, "data.zip", time.Time{}, bytes.NewReader(s.body))
	}))
	t.Cleanup(s.Close)
	return s
}

// noLeftovers checks that a failed download left no data folder and no
// staging folder in dir.
func noLeftovers(t *testing.T, dir string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
		t.Error("a data folder was left behind")
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".data-unpack-*")); len(m) > 0 {
		t.Errorf("staging folders left behind: %v", m)
	}
}

func TestDownloadGoodZip(t *testing.T) {
	body := makeZip(t, nil)
	srv := newZipServer(t, body, sumHex(body), 0)
	dir := t.TempDir()
	res, err := Download(context.Background(), DownloadOptions{URL: srv.URL + "/redirect", Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if res.Verified != "server" || res.SHA256 != sumHex(body) || len(res.Files) != 34 {
		t.Errorf("result %+v", res)
	}
	for _, fc := range Validate(dir) {
		if len(fc.Problems) > 0 {
			t.Errorf("%s: %v", fc.File, fc.Problems)
		}
	}
	for _, leftover := range []string{"data.zip.part", "data.zip.part.json"} {
		if _, err := os.Stat(filepath.Join(dir, leftover)); err == nil {
			t.Errorf("%s left behind", leftover)
		}
	}
	// A second call finds data.zip, checks it against the recorded sum and
	// unpacks it again without the network.
	srv.Close()
	res, err = Download(context.Background(), DownloadOptions{URL: srv.URL + "/redirect", Dir: dir})
	if err != nil || res.Verified != "recorded" || res.Fetched != 0 {
		t.Errorf("offline re-run: %+v, %v", res, err)
	}
}

func TestDownloadResumesInterruptedTransfer(t *testing.T) {
	body := makeZip(t, nil)
	cut := len(body) / 3
	srv := newZipServer(t, body, sumHex(body), cut)
	dir := t.TempDir()
	_, err := Download(context.Background(), DownloadOptions{URL: srv.URL + "/redirect", Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "resume") {
		t.Fatalf("interrupted download: error %v", err)
	}
	st, err := os.Stat(filepath.Join(dir, "data.zip.part"))
	if err != nil || st.Size() != int64(cut) {
		t.Fatalf("partial file: %v, %v (want %d bytes)", st, err, cut)
	}
	noLeftovers(t, dir)
	res, err := Download(context.Background(), DownloadOptions{URL: srv.URL + "/redirect", Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Resumed || res.Fetched != int64(len(body)-cut) || res.Verified != "server" {
		t.Errorf("resumed download: %+v", res)
	}
	if last := srv.ranges[len(srv.ranges)-1]; last != fmt.Sprintf("bytes=%d-", cut) {
		t.Errorf("resume asked for %q", last)
	}
	if got := len(Validate(dir)); got != 34 {
		t.Errorf("%d files validated", got)
	}
}

func TestDownloadRejectsChecksumMismatch(t *testing.T) {
	body := makeZip(t, nil)
	srv := newZipServer(t, body, "", 0)
	dir := t.TempDir()
	_, err := Download(context.Background(), DownloadOptions{URL: srv.URL + "/data.zip", Dir: dir, SHA256: strings.Repeat("ab", 32)})
	if err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Fatalf("error %v", err)
	}
	for _, f := range []string{"data.zip", "data.zip.part"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("%s kept after a checksum mismatch", f)
		}
	}
	noLeftovers(t, dir)
}

func TestDownloadRejectsCorruptZip(t *testing.T) {
	good := makeZip(t, nil)
	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 0xff // inside some entry's compressed data
	missingField := makeZip(t, func(name string, c []byte) []byte {
		if name == "data/qasper_e.jsonl" {
			return bytes.Replace(c, []byte(`"input":"q",`), nil, 1)
		}
		return c
	})
	for _, c := range []struct {
		name, body, want string
	}{
		{"not a zip", "<html>rate limited</html>", "not a valid zip archive"},
		{"flipped byte", string(flipped), "data/"},
		{"row without input", string(missingField), `data/qasper_e.jsonl is not valid LongBench data: line 1: field "input" missing`},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := newZipServer(t, []byte(c.body), "", 0)
			dir := t.TempDir()
			// An existing data folder must survive a failed update.
			os.MkdirAll(filepath.Join(dir, "data"), 0o755)
			os.WriteFile(filepath.Join(dir, "data", "keep"), []byte("x"), 0o644)
			_, err := Download(context.Background(), DownloadOptions{URL: srv.URL + "/data.zip", Dir: dir})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to mention %q", err, c.want)
			}
			if b, err := os.ReadFile(filepath.Join(dir, "data", "keep")); err != nil || string(b) != "x" {
				t.Error("the existing data folder was changed")
			}
			os.RemoveAll(filepath.Join(dir, "data"))
			noLeftovers(t, dir)
		})
	}
}

// TestDownloadOfflineMessage: offline, the error says how to get round it,
// and the folder is not made (issue 12's item 18: --dir /nonexistent/x
// was created).
func TestDownloadOfflineMessage(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/data.zip"
	srv.Close()
	parent := filepath.Join(t.TempDir(), "nonexistent")
	dir := filepath.Join(parent, "x")
	_, err := Download(context.Background(), DownloadOptions{URL: url, Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "offline") || !strings.Contains(err.Error(), filepath.Join(dir, "data.zip")) {
		t.Errorf("offline error %v", err)
	}
	if _, err := os.Stat(parent); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed download made %s (%v)", parent, err)
	}
	// The way round it: a data.zip put there by hand.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	body := makeZip(t, nil)
	os.WriteFile(filepath.Join(dir, "data.zip"), body, 0o644)
	res, err := Download(context.Background(), DownloadOptions{URL: url, Dir: dir, SHA256: sumHex(body)})
	if err != nil || res.Verified != "--sha256" {
		t.Errorf("placed zip: %+v, %v", res, err)
	}
}

func TestDownloadHTTPError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	dir := filepath.Join(t.TempDir(), "x")
	_, err := Download(context.Background(), DownloadOptions{URL: srv.URL + "/data.zip", Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("error %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed download made %s (%v)", dir, err)
	}
}
