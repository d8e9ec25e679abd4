package evalrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sdtp/sdtp/internal/shard"
)

// rec is the record of the test suite.
type rec struct {
	ID    string `json:"_id"`
	Pred  string `json:"pred"`
	Error string `json:"error,omitempty"`
}

func parseRec(b []byte) (Header, error) {
	var r rec
	if err := json.Unmarshal(b, &r); err != nil {
		return Header{}, err
	}
	return Header{ID: r.ID, Error: r.Error}, nil
}

// callsMu guards the calls of suite's rows, which may run at once.
var callsMu sync.Mutex

// suite is two tasks, a and b, of three rows each, interleaved a0 b0 a1
// b1 a2 b2; predict fails the ids in fail and records every call.
func suite(out string, fail map[string]bool, calls *[]string) Config {
	cfg := Config{Out: out, Meta: RunMeta{Settings: map[string]string{"model": "m"}}}
	for _, name := range []string{"a", "b"} {
		cfg.Tasks = append(cfg.Tasks, Task{Name: name, File: name + ".jsonl", Parse: parseRec,
			Known: func(id string) bool { return strings.HasPrefix(id, name) }})
	}
	for i := range 3 {
		for t, name := range []string{"a", "b"} {
			id := name + string(rune('0'+i))
			cfg.Rows = append(cfg.Rows, Row{Task: t, ID: id,
				Predict: func(context.Context) (any, error) {
					callsMu.Lock()
					*calls = append(*calls, id)
					callsMu.Unlock()
					if fail[id] {
						return nil, errors.New("boom")
					}
					return rec{ID: id, Pred: "p" + id}, nil
				},
				Failed: func(err error) any { return rec{ID: id, Error: err.Error()} },
			})
		}
	}
	return cfg
}

func readRecs(t *testing.T, path string) []rec {
	t.Helper()
	c, err := ReadFile(path, func(b []byte) (rec, error) {
		var r rec
		return r, json.Unmarshal(b, &r)
	})
	if err != nil {
		t.Fatal(err)
	}
	return c.Rows
}

func TestRunInterleavesTasksAndResumes(t *testing.T) {
	out := t.TempDir()
	var calls []string
	var reports []RunProgress
	cfg := suite(out, map[string]bool{"b1": true}, &calls)
	cfg.Progress = &Progress{Report: func(p RunProgress) { reports = append(reports, p) }}
	st, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if st != (Stats{Generated: 5, Failed: 1}) {
		t.Errorf("stats %+v", st)
	}
	if want := []string{"a0", "b0", "a1", "b1", "a2", "b2"}; !slices.Equal(calls, want) {
		t.Errorf("order %v, want %v", calls, want)
	}
	if last := reports[len(reports)-1]; last != (RunProgress{Task: "b", TaskDone: 3, TaskRows: 3, Done: 6, Total: 6}) {
		t.Errorf("last report %+v", last)
	}
	b := readRecs(t, filepath.Join(out, "b.jsonl"))
	if len(b) != 3 || b[1].Error != "boom" || b[1].ID != "b1" {
		t.Fatalf("b.jsonl %+v", b)
	}
	// A torn last line (a killed writer) and the failed row are redone;
	// nothing else is.
	f, err := os.OpenFile(filepath.Join(out, "a.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"_id":"a9","pr`)
	f.Close()
	calls = nil
	st, err = Run(context.Background(), suite(out, nil, &calls))
	if err != nil {
		t.Fatal(err)
	}
	if st != (Stats{Generated: 1, Resumed: 5}) || !slices.Equal(calls, []string{"b1"}) {
		t.Errorf("resume: stats %+v, calls %v", st, calls)
	}
	if a := readRecs(t, filepath.Join(out, "a.jsonl")); len(a) != 3 {
		t.Errorf("a.jsonl after resume: %+v", a)
	}
	if b := readRecs(t, filepath.Join(out, "b.jsonl")); len(b) != 3 || b[2].ID != "b1" || b[2].Error != "" {
		t.Errorf("b.jsonl after resume: %+v", b)
	}
}

func TestRunRefuses(t *testing.T) {
	var calls []string
	out := t.TempDir()
	if _, err := Run(context.Background(), suite(out, nil, &calls)); err != nil {
		t.Fatal(err)
	}
	other := suite(out, nil, &calls)
	other.Meta.Settings["model"] = "n"
	if _, err := Run(context.Background(), other); err == nil || !strings.Contains(err.Error(), `model: "m" before, "n" now`) {
		t.Errorf("other settings: %v", err)
	}
	// A line of another task stops the run before anything is generated.
	if err := os.WriteFile(filepath.Join(out, "a.jsonl"), []byte(`{"_id":"b7","pred":""}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	calls = nil
	if _, err := Run(context.Background(), suite(out, nil, &calls)); err == nil || !strings.Contains(err.Error(), "a.jsonl line 1: _id b7 is not a row of this task") || len(calls) > 0 {
		t.Errorf("foreign row: %v, calls %v", err, calls)
	}
	twice := suite(t.TempDir(), nil, &calls)
	twice.Rows = append(twice.Rows, twice.Rows[0])
	if _, err := Run(context.Background(), twice); err == nil || !strings.Contains(err.Error(), "listed twice") {
		t.Errorf("a row listed twice: %v", err)
	}
}

func TestRunStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var calls []string
	cfg := suite(t.TempDir(), nil, &calls)
	inner := cfg.Rows[2].Predict
	cfg.Rows[2].Predict = func(ctx context.Context) (any, error) { cancel(); return inner(ctx) }
	// a1 finishes and is written; b1 is not started.
	st, err := Run(ctx, cfg)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "stopped during b after 1 new rows") {
		t.Errorf("error %v", err)
	}
	if st.Generated != 3 || !slices.Equal(calls, []string{"a0", "b0", "a1"}) {
		t.Errorf("stats %+v", st)
	}
}

func TestRunNames(t *testing.T) {
	got := RunNames([]string{"runs/base", "x/paper", "y/paper/"})
	if want := []string{"base", "x/paper", "y/paper"}; !slices.Equal(got, want) {
		t.Errorf("RunNames = %v, want %v", got, want)
	}
}

// TestRunInFlight: with InFlight 3, three rows are generated at once
// (each waits until three are in flight, or the rest of the run), every
// row is written once, and a stop keeps the rows that finished.
func TestRunInFlight(t *testing.T) {
	out := t.TempDir()
	var calls []string
	cfg := suite(out, map[string]bool{"a2": true}, &calls)
	cfg.InFlight = 3
	var mu sync.Mutex
	inFlight, peak := 0, 0
	gate := make(chan struct{})
	for i := range cfg.Rows {
		inner := cfg.Rows[i].Predict
		cfg.Rows[i].Predict = func(ctx context.Context) (any, error) {
			mu.Lock()
			inFlight++
			peak = max(peak, inFlight)
			if inFlight == 3 || i >= 3 { // the last three rows may run fewer at once
				select {
				case <-gate:
				default:
					close(gate)
				}
			}
			mu.Unlock()
			<-gate
			mu.Lock()
			defer mu.Unlock()
			inFlight--
			return inner(ctx)
		}
	}
	st, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if st != (Stats{Generated: 5, Failed: 1}) || peak != 3 {
		t.Errorf("stats %+v, %d rows at once, want 3", st, peak)
	}
	for _, name := range []string{"a", "b"} {
		recs := readRecs(t, filepath.Join(out, name+".jsonl"))
		ids := map[string]bool{}
		for _, r := range recs {
			ids[r.ID] = true
		}
		if len(recs) != 3 || len(ids) != 3 {
			t.Errorf("%s.jsonl: %+v", name, recs)
		}
	}

	// Stopped while rows are in flight: the rows that finished are kept,
	// the rest run on resume.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls = nil
	stop := suite(t.TempDir(), nil, &calls)
	stop.InFlight = 2
	for i := range stop.Rows {
		inner := stop.Rows[i].Predict
		stop.Rows[i].Predict = func(c context.Context) (any, error) {
			if i == 1 {
				cancel()
				<-c.Done()
				return nil, c.Err()
			}
			return inner(c)
		}
	}
	st, err = Run(ctx, stop)
	if !errors.Is(err, context.Canceled) || st.Generated != 1 || st.Failed != 0 {
		t.Errorf("stopped run: stats %+v, error %v", st, err)
	}
	calls = nil
	again := suite(stop.Out, nil, &calls)
	again.InFlight = 2
	if st, err := Run(context.Background(), again); err != nil || st.Resumed != 1 || st.Generated != 5 {
		t.Errorf("resume: stats %+v, error %v", st, err)
	}
}

// TestRunShard: two shards of a run generate every row exactly once
// between them, each folder records its shard, and a folder of one shard
// refuses another.
func TestRunShard(t *testing.T) {
	var calls []string
	seen := map[string]int{}
	var dirs []string
	for k := range 2 {
		calls = nil
		cfg := suite(t.TempDir(), nil, &calls)
		cfg.Shard = shard.Spec{Index: k, Count: 2}
		st, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if st.Generated != len(calls) {
			t.Errorf("shard %d: stats %+v, %d calls", k, st, len(calls))
		}
		for _, id := range calls {
			seen[id]++
			if shard.Of(id, 2) != k {
				t.Errorf("shard %d generated %s, a row of shard %d", k, id, shard.Of(id, 2))
			}
		}
		m, err := ReadRunMeta(cfg.Out)
		if err != nil || m.Settings["shard"] != fmt.Sprintf("%d/2", k) || m.Settings["model"] != "m" {
			t.Errorf("shard %d meta: %+v, %v", k, m.Settings, err)
		}
		if cfg.Meta.Settings["shard"] != "" {
			t.Error("Run changed the caller's settings")
		}
		dirs = append(dirs, cfg.Out)
	}
	if len(seen) != 6 {
		t.Errorf("rows generated: %v, want all six once", seen)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s generated %d times", id, n)
		}
	}
	other := suite(dirs[0], nil, &calls)
	other.Shard = shard.Spec{Index: 1, Count: 2}
	if _, err := Run(context.Background(), other); err == nil || !strings.Contains(err.Error(), `shard: "0/2" before, "1/2" now`) {
		t.Errorf("another shard in a shard's folder: %v", err)
	}
}
