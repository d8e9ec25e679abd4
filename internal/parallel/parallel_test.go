package parallel

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
)

func TestForEach(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name    string
		n       int
		workers int
		fail    map[int]bool
		wantErr string
	}{
		{"all succeed", 50, 3, nil, ""},
		{"no work", 0, 4, nil, ""},
		{"more workers than work", 2, 8, nil, ""},
		{"lowest failure reported", 40, 4, map[int]bool{31: true, 7: true}, "text 7: boom"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			calls := make([]atomic.Int32, tc.n)
			var lastDone int
			err := ForEach(context.Background(), tc.n, tc.workers, "text", func(w, i int) error {
				if w < 0 || w >= tc.workers {
					t.Errorf("worker %d outside [0, %d)", w, tc.workers)
				}
				calls[i].Add(1)
				if tc.fail[i] {
					return boom
				}
				return nil
			}, func(done, total int) {
				if done != lastDone+1 || total != tc.n {
					t.Errorf("progress(%d, %d) after %d", done, total, lastDone)
				}
				lastDone = done
			})
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, boom)) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			for i := range calls {
				if c := calls[i].Load(); c != 1 {
					t.Errorf("index %d ran %d times", i, c)
				}
			}
			if lastDone != tc.n {
				t.Errorf("progress reached %d of %d", lastDone, tc.n)
			}
		})
	}
}

func TestForEachStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var ran atomic.Int32
	err := ForEach(ctx, 1000, 2, "text", func(_, i int) error {
		if ran.Add(1) == 10 {
			cancel()
		}
		return nil
	}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if n := ran.Load(); n >= 1000 {
		t.Errorf("all %d indices ran after the cancel", n)
	}
}
