package evalrun

import "testing"

func TestProgressCountsRows(t *testing.T) {
	var got []RunProgress
	p := &Progress{Report: func(r RunProgress) { got = append(got, r) }}
	p.begin(3)
	p.step("hotpotqa", 4, 5)
	p.step("hotpotqa", 5, 5)
	p.step("lcc", 1, 2)
	p.finish()
	want := []RunProgress{{"hotpotqa", 4, 5, 1, 3}, {"hotpotqa", 5, 5, 2, 3}, {"lcc", 1, 2, 3, 3}}
	if len(got) != len(want) {
		t.Fatalf("reports %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("report %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	var none *Progress // a run without progress reporting
	none.begin(1)
	none.step("lcc", 1, 1)
	none.finish()
}
