package evalrun

import (
	"encoding/json"
	"os"
	"testing"
)

// TestOldMetaJSONResumes reads a meta.json written before the meta blocks
// were one type: a run started then can still be resumed and checked.
func TestOldMetaJSONResumes(t *testing.T) {
	dir := t.TempDir()
	old := `{"version": "0.1.0-dev", "revision": "abc", "command": ["sdtp", "longbench", "run"], "started": "2026-11-26T11:59:00Z", "settings": {"model": "m"}}`
	path := dir + "/meta.json"
	if err := os.WriteFile(path, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	var m RunMeta
	if err := json.Unmarshal([]byte(old), &m); err != nil || m.Revision != "abc" || len(m.Command) != 3 || m.Start.IsZero() || m.Settings["model"] != "m" {
		t.Fatalf("read %+v, %v", m, err)
	}
	if err := writeOrCheckMeta(path, RunMeta{Settings: map[string]string{"model": "m"}}, true); err != nil {
		t.Errorf("same settings refused: %v", err)
	}
	if err := writeOrCheckMeta(path, RunMeta{Settings: map[string]string{"model": "other"}}, true); err == nil {
		t.Error("other settings accepted")
	}
}
