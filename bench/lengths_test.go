package bench

import (
	"slices"
	"testing"

	"github.com/sdtp/sdtp/internal/testmodel"
	"github.com/sdtp/sdtp/model"
)

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

func TestExtendLengths(t *testing.T) {
	c := testmodel.Config(t, "qwen2-7b")
	hf := c
	hf.Name = "Qwen2-7B" // a model folder: its positions are a limit
	base := []int{1024, 32768}
	need := func(n int) int64 { return DeviceBytes(&c, n, 128, 2) }
	// 128K unpruned on the 7B shape in bf16: about 16 GB with the margin.
	if b := need(131072); b < 12<<30 || b > 20<<30 {
		t.Errorf("128K needs %.1f GiB, want about 16", float64(b)/(1<<30))
	}
	for _, tc := range []struct {
		c    *model.Config
		free int64
		want []int
	}{
		{&c, 80 << 30, []int{1024, 32768, 65536, 131072}},
		{&c, need(131072), []int{1024, 32768, 65536, 131072}},
		{&c, need(131072) - 1, []int{1024, 32768, 65536}},
		{&c, need(65536) - 1, []int{1024, 32768}},
		{&c, -5, []int{1024, 32768}},               // the weights alone do not fit
		{&hf, 80 << 30, []int{1024, 32768, 65536}}, // 128K + 128 new tokens pass its 131072 positions
	} {
		if got := ExtendLengths(base, LongLengths, tc.c, 128, tc.free, 2); !slices.Equal(got, tc.want) {
			t.Errorf("%s with %d bytes free: %v, want %v", tc.c.Name, tc.free, got, tc.want)
		}
	}
}
