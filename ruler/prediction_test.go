package ruler

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseID(t *testing.T) {
	for _, c := range []struct {
		id     string
		task   string
		length int
		index  int
		ok     bool
	}{
		{"niah_single_1-4096-0", "niah_single_1", 4096, 0, true},
		{"vt-131072-499", "vt", 131072, 499, true},
		{"vt-4096", "", 0, 0, false},
		{"-4096-1", "", 0, 0, false},
		{"vt-0-1", "", 0, 0, false},
		{"vt-4096--1", "", 0, 0, false},
		{"vt-04096-1", "", 0, 0, false},
		{"vt-4096-1x", "", 0, 0, false},
	} {
		task, length, index, err := ParseID(c.id)
		if (err == nil) != c.ok || task != c.task || length != c.length || index != c.index {
			t.Errorf("ParseID(%q) = %q %d %d %v", c.id, task, length, index, err)
		}
	}
}

func TestParsePrediction(t *testing.T) {
	good := Prediction{ID: "cwe-8192-3", Task: "cwe", Length: 8192, Index: 3, Pred: "x", Outputs: []string{"a"}}
	b, _ := json.Marshal(good)
	p, err := ParsePrediction(b)
	if err != nil || p.ID != good.ID || p.Outputs[0] != "a" {
		t.Fatalf("%+v %v", p, err)
	}
	for _, c := range []struct {
		line, want string
	}{
		{`{"_id":"cwe-8192-3","task":"vt","length":8192,"index":3,"outputs":["a"]}`, "does not match"},
		{`{"_id":"cwe-8192-3","task":"cwe","length":4096,"index":3,"outputs":["a"]}`, "does not match"},
		{`{"_id":"qa_1-8192-3","task":"qa_1","length":8192,"index":3,"outputs":["a"]}`, "unknown task"},
		{`{"_id":"cwe-8192-3","task":"cwe","length":8192,"index":3,"outputs":[]}`, "no outputs"},
		{`{"_id":"cwe-8192-3","task":"cwe","length":8192,"index":3,"outputs":"a"}`, "not a prediction row"},
		{`[1]`, "not a prediction row"},
	} {
		if _, err := ParsePrediction([]byte(c.line)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.line, err, c.want)
		}
	}
}

func FuzzParsePrediction(f *testing.F) {
	f.Add([]byte(`{"_id":"cwe-8192-3","task":"cwe","length":8192,"index":3,"outputs":["a"]}`))
	f.Add([]byte(`{"_id":"vt-4096-0","task":"vt","length":4096,"index":0,"outputs":["A","B"],"error":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePrediction(b)
		if err != nil {
			return
		}
		if SampleID(p.Task, p.Length, p.Index) != p.ID || (len(p.Outputs) == 0 && p.Error == "") {
			t.Fatalf("accepted %q as %+v", b, p)
		}
	})
}
