package longbench

import (
	"strings"
	"testing"
)

func TestParseRowErrors(t *testing.T) {
	good := `{"input":"q","context":"c","answers":["a"],"length":5,"dataset":"hotpotqa","language":"en","all_classes":null,"_id":"x"}`
	if _, err := ParseRow([]byte(good)); err != nil {
		t.Fatalf("good row: %v", err)
	}
	for _, c := range []struct{ edit, want string }{
		{`"length":5`, `"length":5.5`},
		{`"length":5`, `"length":"5"`},
		{`"answers":["a"]`, `"answers":"a"`},
		{`"answers":["a"]`, `"answers":[1]`},
		{`"answers":["a"]`, `"answers":[]`},
		{`"all_classes":null`, `"all_classes":"x"`},
		{`,"_id":"x"`, ``},
		{`"_id":"x"`, `"_id":""`},
		{`{`, `[`},
	} {
		bad := strings.Replace(good, c.edit, c.want, 1)
		if _, err := ParseRow([]byte(bad)); err == nil {
			t.Errorf("ParseRow(%s): no error", bad)
		}
	}
}

func TestReadRowsNamesFileAndLine(t *testing.T) {
	in := `{"input":"q","context":"c","answers":["a"],"length":5,"dataset":"d","language":"en","all_classes":null,"_id":"x"}` + "\n\n{}\n"
	_, err := ReadRows(strings.NewReader(in), "data/x.jsonl")
	if err == nil || !strings.Contains(err.Error(), "data/x.jsonl line 3") || !strings.Contains(err.Error(), `"input"`) {
		t.Errorf("error %v does not name file, line and field", err)
	}
	if _, err := ReadRows(strings.NewReader(`{"input":"q"`), "y.jsonl"); err == nil {
		t.Error("a cut-short last line was accepted")
	}
}

func TestSharedRowsParse(t *testing.T) {
	for _, name := range []string{"2wikimqa", "gov_report", "hotpotqa", "lcc", "multi_news", "multifieldqa_en", "passage_retrieval_en", "qasper", "repobench-p", "samsum", "trec", "triviaqa"} {
		rows := readSharedRows(t, name)
		if len(rows) != 1 || rows[0].Dataset != name {
			t.Errorf("%s: %d rows, dataset %q", name, len(rows), rows[0].Dataset)
		}
	}
}

// FuzzReadRows: the data reader never panics and either fails or returns
// rows with their required fields.
func FuzzReadRows(f *testing.F) {
	f.Add(`{"input":"q","context":"c","answers":["a"],"length":5,"dataset":"d","language":"en","all_classes":null,"_id":"x"}` + "\n")
	f.Add("{}\n{\n")
	f.Add(`{"answers":[null],"length":1e400}` + "\n")
	f.Fuzz(func(t *testing.T, in string) {
		rows, err := ReadRows(strings.NewReader(in), "fuzz.jsonl")
		if err != nil {
			return
		}
		for _, r := range rows {
			if r.ID == "" || len(r.Answers) == 0 {
				t.Fatalf("row without id or answers accepted: %+v", r)
			}
		}
	})
}

// FuzzReadPredictions: the predictions reader never panics, and a torn
// tail is reported, not parsed.
func FuzzReadPredictions(f *testing.F) {
	f.Add(`{"pred":"x","answers":["a"],"all_classes":null,"length":3}` + "\n" + `{"pred":`)
	f.Add("\n\n")
	f.Fuzz(func(t *testing.T, in string) {
		pf, err := ReadPredictions(strings.NewReader(in), "fuzz.jsonl")
		if err != nil {
			return
		}
		if int(pf.Size)+pf.Torn != len(in) {
			t.Fatalf("size %d + torn %d != input %d", pf.Size, pf.Torn, len(in))
		}
	})
}
