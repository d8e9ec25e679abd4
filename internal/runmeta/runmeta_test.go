package runmeta

import (
	"encoding/json"
	"slices"
	"testing"
	"time"
)

// result embeds Meta as the result types do.
type result struct {
	Meta
	Extra string `json:"extra"`
}

func (r *result) UnmarshalJSON(data []byte) error {
	type plain result
	return Unmarshal(data, (*plain)(r), &r.Meta)
}

// TestOldAndNewNamesRead reads the three spellings the blocks had before
// they were one type, and round-trips a new block.
func TestOldAndNewNamesRead(t *testing.T) {
	start := time.Date(2026, 11, 26, 11, 59, 0, 0, time.UTC)
	want := result{Meta: Meta{Program: "sdtp", Version: "0.1.0-dev", Revision: "abc", Command: []string{"sdtp", "x"}, Start: start}, Extra: "e"}
	for name, js := range map[string]string{
		"longbench (revision, command, started)": `{"program":"sdtp","version":"0.1.0-dev","revision":"abc","command":["sdtp","x"],"started":"2026-11-26T11:59:00Z","extra":"e"}`,
		"train (revision, command, start)":       `{"program":"sdtp","version":"0.1.0-dev","revision":"abc","command":["sdtp","x"],"start":"2026-11-26T11:59:00Z","extra":"e"}`,
		"bench (git_revision, command_line)":     `{"program":"sdtp","version":"0.1.0-dev","git_revision":"abc","command_line":["sdtp","x"],"start":"2026-11-26T12:59:00+01:00","extra":"e"}`,
	} {
		var got result
		if err := json.Unmarshal([]byte(js), &got); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got.Revision != want.Revision || !slices.Equal(got.Command, want.Command) || !got.Start.Equal(start) || got.Extra != "e" || got.Program != "sdtp" {
			t.Errorf("%s: read %+v", name, got)
		}
	}
	js, err := json.Marshal(&want)
	if err != nil {
		t.Fatal(err)
	}
	if string(js) != `{"program":"sdtp","version":"0.1.0-dev","git_revision":"abc","command_line":["sdtp","x"],"start":"2026-11-26T11:59:00Z","extra":"e"}` {
		t.Errorf("written as %s", js)
	}
}
