package h2o

import (
	"strings"
	"testing"
)

func TestParseAmount(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Amount
		err  bool
	}{
		{in: "0.4", want: Amount{Fraction: 0.4}},
		{in: " 40% ", want: Amount{Fraction: 0.4}},
		{in: "1.0", want: Amount{Fraction: 1}},
		{in: "1", want: Amount{Tokens: 1, Counted: true}},
		{in: "1024", want: Amount{Tokens: 1024, Counted: true}},
		{in: "0", want: Amount{Counted: true}},
		{in: "5e-1", want: Amount{Fraction: 0.5}},
		{in: "", err: true},
		{in: "abc", err: true},
		{in: "1.2.3", err: true},
		{in: "NaN%", err: true},
		{in: "0x10", err: true},
	} {
		got, err := ParseAmount(tc.in)
		if (err != nil) != tc.err || (!tc.err && got != tc.want) {
			t.Errorf("ParseAmount(%q) = %+v, %v; want %+v (error %v)", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"0.4", "40%", "1024", "1.0", "-3", "1e400", "%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAmount(s)
		if err != nil {
			return
		}
		// What String writes reads back as the same amount.
		b, err := ParseAmount(a.String())
		if err != nil || b != a {
			t.Fatalf("ParseAmount(%q) = %+v, written %q, read back %+v, %v", s, a, a.String(), b, err)
		}
	})
}

func TestParseBudget(t *testing.T) {
	for _, tc := range []struct {
		keep, recent string
		want         Budget
		err          string
	}{
		{keep: "0.4", want: Budget{Keep: Amount{Fraction: 0.4}, Recent: DefaultRecent}},
		{keep: "512", recent: "64", want: Budget{Keep: Amount{Tokens: 512, Counted: true}, Recent: Amount{Tokens: 64, Counted: true}}},
		{keep: "40%", recent: "0", want: Budget{Keep: Amount{Fraction: 0.4}, Recent: Amount{Counted: true}}},
		{keep: "0", err: "at least 1"},
		{keep: "1.5", err: "(0, 1]"},
		{keep: "0.0", err: "(0, 1]"},
		{keep: "0.4", recent: "1.5", err: "[0, 1]"},
		{keep: "0.4", recent: "-2", err: "negative"},
		{keep: "x", err: "budget:"},
		{keep: "0.4", recent: "y", err: "recent window:"},
	} {
		got, err := Parse(tc.keep, tc.recent)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Parse(%q, %q): error %v, want one containing %q", tc.keep, tc.recent, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Parse(%q, %q) = %+v, %v; want %+v", tc.keep, tc.recent, got, err, tc.want)
		}
	}
}

func TestSizes(t *testing.T) {
	for _, tc := range []struct {
		keep, recent string
		held         int
		k, r         int
	}{
		{"0.4", "", 100, 40, 20},
		{"0.4", "", 5, 2, 1},   // 2, then round(0.5·2)
		{"0.4", "", 1, 1, 1},   // never below one token
		{"0.25", "", 10, 3, 2}, // round(2.5) = 3, round(1.5) = 2: half away from zero
		{"64", "16", 1000, 64, 16},
		{"64", "100", 1000, 64, 64}, // recent at most the budget
		{"64", "", 10, 64, 32},      // a count does not depend on what the layer holds
		{"0.5", "0", 30, 15, 0},
		{"1.0", "1.0", 7, 7, 7},
	} {
		b, err := Parse(tc.keep, tc.recent)
		if err != nil {
			t.Fatal(err)
		}
		if k, r := b.Sizes(tc.held); k != tc.k || r != tc.r {
			t.Errorf("budget %s of %d tokens: keep %d recent %d, want %d and %d", b, tc.held, k, r, tc.k, tc.r)
		}
	}
}
