package bench

import "testing"

func TestParseLengths(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
		err  bool
	}{
		{"1024,2K, 4k", []int{1024, 2048, 4096}, false},
		{"", nil, true},
		{"0", nil, true},
		{"-5", nil, true},
		{"1.5K", nil, true},
		{"99999999999", nil, true},
	} {
		got, err := ParseLengths(tc.in)
		if (err != nil) != tc.err || len(got) != len(tc.want) {
			t.Errorf("ParseLengths(%q) = %v, %v", tc.in, got, err)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("ParseLengths(%q) = %v, want %v", tc.in, got, tc.want)
			}
		}
	}
}

func FuzzParseLengths(f *testing.F) {
	f.Add("1024,2K")
	f.Add("k,,K")
	f.Fuzz(func(t *testing.T, s string) {
		ls, err := ParseLengths(s)
		if err != nil {
			return
		}
		for _, n := range ls {
			if n <= 0 || n > 1<<34 {
				t.Errorf("ParseLengths(%q) gave %d", s, n)
			}
		}
	})
}

func TestFormatLengthsReadsBack(t *testing.T) {
	in := []int{256, 1024, 32768}
	got, err := ParseLengths(FormatLengths(in))
	if err != nil || len(got) != len(in) || got[0] != 256 || got[2] != 32768 {
		t.Errorf("ParseLengths(FormatLengths(%v)) = %v, %v", in, got, err)
	}
}
