package prune

import (
	"math"
	"strings"
	"testing"
)

func TestParsePreset(t *testing.T) {
	tests := []struct {
		name   string
		layers int
		locs   []int
		ratio  float64
		err    string
	}{
		{"paper", 32, []int{4, 7, 10, 13, 16, 19, 22, 25, 28, 31}, 0.9, ""},
		{"paper", 28, []int{4, 7, 10, 13, 16, 19, 22, 25}, 0.9, ""},
		{"paper-low", 28, []int{4, 7, 10, 13, 16}, 0.9, ""},
		{"keep0.8", 28, []int{4, 7, 10, 13, 16, 19, 22, 25}, 0.8, ""},
		{"keep0.7", 4, nil, 0.7, "no block"},
		{"paper", 5, []int{4}, 0.9, ""},
		{"keep1.5", 28, nil, 0, "(0, 1]"},
		{"keepx", 28, nil, 0, "not a number"},
		{"fast", 28, nil, 0, "unknown schedule"},
		{"paper-scaled", 28, []int{4, 7, 10, 13, 16, 19, 22, 25}, 0.9, ""},
		{"paper-scaled", 12, []int{2, 3, 4, 6, 7, 8, 9, 11}, 0.9, ""},
		{"keep0.7-scaled", 12, []int{2, 3, 4, 6, 7, 8, 9, 11}, 0.7, ""},
		{"paper-scaled", 5, []int{1, 2, 3, 4}, 0.9, ""},
		{"paper-scaled", 2, []int{1}, 0.9, ""},
		{"paper-low-scaled", 28, nil, 0, "unknown schedule"},
	}
	for _, tc := range tests {
		s, err := ParsePreset(tc.name, tc.layers)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s/%d: err %v, want %q", tc.name, tc.layers, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if s.Ratio != tc.ratio || len(s.Locations) != len(tc.locs) {
			t.Fatalf("%s/%d: got %v", tc.name, tc.layers, s)
		}
		for i := range s.Locations {
			if s.Locations[i] != tc.locs[i] {
				t.Fatalf("%s/%d: got %v", tc.name, tc.layers, s)
			}
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		s   Schedule
		err string
	}{
		{Schedule{[]int{4, 7}, 0.9}, ""},
		{Schedule{[]int{4, 7}, 1}, ""},
		{Schedule{[]int{4, 7}, 0}, "(0, 1]"},
		{Schedule{[]int{4, 7}, math.NaN()}, "(0, 1]"},
		{Schedule{[]int{0}, 0.9}, "outside"},
		{Schedule{[]int{12}, 0.9}, "outside"},
		{Schedule{[]int{7, 4}, 0.9}, "increasing"},
		{Schedule{nil, 0.9}, "no pruning locations"},
	}
	for _, tc := range tests {
		err := tc.s.Validate(12)
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%v: err %v, want %q", tc.s, err, tc.err)
		}
	}
}

func TestProtected(t *testing.T) {
	tests := []struct{ n, want int }{{0, 0}, {1, 1}, {3, 3}, {4, 4}, {5, 5}, {10, 5}, {11, 6}, {100, 14}, {1000, 104}}
	for _, tc := range tests {
		if got := Protected(tc.n); got != tc.want {
			t.Errorf("Protected(%d) = %d, want %d", tc.n, got, tc.want)
		}
		count := 0
		for p := 0; p < tc.n; p++ {
			if IsProtected(p, tc.n) {
				count++
			}
		}
		if count != Protected(tc.n) {
			t.Errorf("n=%d: %d positions protected, Protected says %d", tc.n, count, Protected(tc.n))
		}
	}
}

// TestAliveProperty checks, for every prompt length from 1 to 5000, that
// the tokens alive after each stage are round(N·r^s) raised to the
// protected count, never more than N, and never growing.
func TestAliveProperty(t *testing.T) {
	for _, ratio := range []float64{0.9, 0.8, 0.7} {
		s := Schedule{Locations: PaperLocations(32), Ratio: ratio}
		for n := 1; n <= 5000; n++ {
			alive := s.Alive(n, 32)
			prev := n
			stage := 0
			for l, a := range alive {
				if s.Stage(l) > 0 {
					stage++
				}
				want := n
				if stage > 0 {
					want = int(math.Round(float64(n) * math.Pow(ratio, float64(stage))))
					p := Protected(n)
					if want < p {
						want = p
					}
					if want > n {
						want = n
					}
				}
				if a != want || a > prev {
					t.Fatalf("r=%v n=%d layer %d: alive %d, want %d (prev %d)", ratio, n, l, a, want, prev)
				}
				prev = a
			}
		}
	}
}

func TestPrunerString(t *testing.T) {
	s := Schedule{Locations: []int{4, 7}, Ratio: 0.9}
	for _, tc := range []struct {
		sc   Scorer
		want string
	}{
		{&ModuleScorer{}, "locations 4,7 ratio 0.9 scorer module"},
		{RandomScorer{Seed: 5}, "locations 4,7 ratio 0.9 scorer random seed 5"},
		{RecentScorer{}, "locations 4,7 ratio 0.9 scorer recent"},
	} {
		if got := (&Pruner{Schedule: s, Scorer: tc.sc}).String(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}
