package train

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// dollyFile makes rows dolly rows as databricks-dolly-15k lays them out.
func dollyFile(rows int) []byte {
	var b bytes.Buffer
	for i := range rows {
		js, _ := json.Marshal(map[string]string{"instruction": "Say " + strings.Repeat("x", i%7), "context": "", "response": "ok", "category": "open_qa"})
		b.Write(js)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// dollyServer serves body with its SHA-256 as Hugging Face publishes it.
func dollyServer(t *testing.T, body []byte, published string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Linked-Etag", `"`+published+`"`)
		http.ServeContent(w, r, DollyFile, time.Time{}, bytes.NewReader(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestDownloadDolly(t *testing.T) {
	body := dollyFile(DollyRows)
	sum := sha256.Sum256(body)
	hexSum := hex.EncodeToString(sum[:])
	srv := dollyServer(t, body, hexSum)
	dir := filepath.Join(t.TempDir(), "dolly")
	res, err := DownloadDolly(context.Background(), DollyOptions{URL: srv.URL, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != DollyRows || res.Verified != "server" || res.SHA256 != hexSum || res.Fetched != int64(len(body)) {
		t.Errorf("result %+v", res)
	}
	// Again with the file in place and the server gone: verified from the record.
	srv.Close()
	res, err = DownloadDolly(context.Background(), DollyOptions{URL: srv.URL, Dir: dir})
	if err != nil || res.Verified != "recorded" || res.Fetched != 0 {
		t.Errorf("offline re-run: %+v, %v", res, err)
	}
}

func TestDownloadDollyRefuses(t *testing.T) {
	good := dollyFile(DollyRows)

	for _, tc := range []struct {
		name      string
		body      []byte
		published string
		want      string
	}{
		{"wrong checksum", good, strings.Repeat("0", 64), "sha256"},
		{"too few rows", dollyFile(10), "", "has 10 dolly rows"},
		{"not dolly rows", []byte("{\"text\": \"a\"}\n"), "", "instruction"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := dollyServer(t, tc.body, tc.published)
			dir := t.TempDir()
			_, err := DownloadDolly(context.Background(), DollyOptions{URL: srv.URL, Dir: dir})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want one saying %q", err, tc.want)
			}
			if tc.name == "wrong checksum" {
				if _, err := os.Stat(filepath.Join(dir, DollyFile)); err == nil {
					t.Error("a file with the wrong checksum was kept")
				}
			}
		})
	}
}
