package main

import "testing"

func TestParseKVBudget(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		auto bool
		bad  bool
	}{
		{"auto", 0, true, false},
		{" AUTO ", 0, true, false},
		{"0", 0, false, false},
		{"4096", 4096, false, false},
		{"1KiB", 1024, false, false},
		{"40GiB", 40 << 30, false, false},
		{"1.5gib", 3 << 29, false, false},
		{"512 MiB", 512 << 20, false, false},
		{"2GB", 2e9, false, false},
		{"7b", 7, false, false},
		{"", 0, false, true},
		{"lots", 0, false, true},
		{"-1GiB", 0, false, true},
		{"1PiB", 0, false, true},
		{"1e30TB", 0, false, true},
		{"NaNGiB", 0, false, true},
	}
	for _, tc := range tests {
		n, auto, err := parseKVBudget(tc.in)
		if (err != nil) != tc.bad || n != tc.want || auto != tc.auto {
			t.Errorf("parseKVBudget(%q) = %d, %v, %v; want %d, %v, error %v", tc.in, n, auto, err, tc.want, tc.auto, tc.bad)
		}
	}
}
