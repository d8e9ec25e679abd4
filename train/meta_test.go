package train

import (
	"encoding/json"
	"testing"
)

// TestOldSaliencyHeaderReads reads a saliency file's first line as 'sdtp
// saliency' wrote it before the meta blocks were one type.
func TestOldSaliencyHeaderReads(t *testing.T) {
	line := `{"meta":{"program":"sdtp","version":"0.1.0-dev","revision":"abc","model":"m.bin","backend":"host float64 (train/lm)","command":["sdtp","saliency"],"start":"2026-11-26T11:59:00Z","data":"d.jsonl"},"format":"sdtp-saliency/1","layers":5,"hidden_size":64,"texts":3,"continuation":0}`
	var h SaliencyHeader
	if err := json.Unmarshal([]byte(line), &h); err != nil {
		t.Fatal(err)
	}
	if m := h.Meta; m.Revision != "abc" || len(m.Command) != 2 || m.Start.IsZero() || m.Model != "m.bin" || m.Data != "d.jsonl" || h.Layers != 5 {
		t.Errorf("read %+v", h)
	}
}
