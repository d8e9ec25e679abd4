package train

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"testing"
)

// TestWriteSaliency checks the file's lines: input order, the values
// Saliency computes, and the same bytes with one worker or several.
func TestWriteSaliency(t *testing.T) {
	m := tinyModel(t)
	texts := tinyTexts(7, 12, 3)
	lines := []int{2, 3, 5, 8, 13, 21, 34}
	var one, many bytes.Buffer
	if err := WriteSaliency(context.Background(), &one, Host(m), texts, lines, 3, 1, nil); err != nil {
		t.Fatal(err)
	}
	if err := WriteSaliency(context.Background(), &many, Host(m), texts, lines, 3, 3, nil); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(one.Bytes(), many.Bytes()) {
		t.Fatal("output depends on the worker count")
	}
	sc := bufio.NewScanner(&one)
	sc.Buffer(nil, 1<<20)
	k := 0
	for sc.Scan() {
		var r SaliencyRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		want, loss, _ := Saliency(m, texts[k], 3)
		if r.Line != lines[k] || len(r.IDs) != len(texts[k]) || r.Loss != loss || len(r.Saliency) != m.Config.Layers {
			t.Fatalf("record %d: %+v", k, r)
		}
		for l := range want {
			for i := range want[l] {
				if r.Saliency[l][i] != want[l][i] {
					t.Fatalf("record %d block %d token %d: %v, want %v", k, l, i, r.Saliency[l][i], want[l][i])
				}
			}
		}
		k++
	}
	if k != len(texts) {
		t.Fatalf("%d records, want %d", k, len(texts))
	}
	if err := WriteSaliency(context.Background(), &one, Host(m), [][]int{{1, 2, 3}}, []int{9}, 3, 1, nil); err == nil || err.Error()[:14] != "text on line 9" {
		t.Fatalf("one-token text: err %v", err)
	}
}
