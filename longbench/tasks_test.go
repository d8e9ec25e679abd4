package longbench

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"slices"
	"sort"
	"testing"

	"github.com/sdtp/sdtp/internal/testdata"
)

func TestTaskTable(t *testing.T) {
	all, e := Tasks(), ETasks()
	if len(all) != 21 || len(e) != 13 {
		t.Fatalf("%d tasks, %d LongBench-E tasks; want 21 and 13", len(all), len(e))
	}
	rows, lang := 0, map[string]int{}
	for _, task := range all {
		rows += task.Rows
		lang[task.Language]++
	}
	// LongBench: 4,750 rows; 14 English, 5 Chinese and 2 code tasks.
	if rows != 4750 || lang["en"] != 14 || lang["zh"] != 5 || lang["code"] != 2 {
		t.Errorf("rows %d, languages %v", rows, lang)
	}
	var skip []string
	for _, task := range all {
		if !task.UsesChatTemplate() {
			skip = append(skip, task.Name)
		}
	}
	if want := []string{"trec", "triviaqa", "samsum", "lsht", "lcc", "repobench-p"}; !slices.Equal(skip, want) {
		t.Errorf("chat-template skip list %v, want %v", skip, want)
	}
}

// TestOfficialFilesUnchanged checks the embedded configuration files against
// the official copies byte for byte, and that they cover exactly our tasks.
func TestOfficialFilesUnchanged(t *testing.T) {
	for name, c := range map[string]struct {
		data []byte
		sum  string
	}{
		"dataset2prompt.json": {dataset2prompt, "56d22ad4f382169c2b8a11ff4c982a4a1bea096c8152b0f0b85b64686b157c30"},
		"dataset2maxlen.json": {dataset2maxlen, "72966b3c0933e214591637fb085798c5e687ebff4ddaab5d99bbc31120532022"},
	} {
		h := sha256.Sum256(c.data)
		if got := hex.EncodeToString(h[:]); got != c.sum {
			t.Errorf("embedded %s: sha256 %s, official %s", name, got, c.sum)
		}
		shared, err := os.ReadFile(testdata.Path(t, "longbench/"+name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(shared, c.data) {
			t.Errorf("embedded %s differs from the shared official copy", name)
		}
	}
	var prompts map[string]string
	if err := json.Unmarshal(dataset2prompt, &prompts); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range prompts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	names := TaskNames()
	sort.Strings(names)
	if !slices.Equal(keys, names) {
		t.Errorf("official prompts cover %v, task table %v", keys, names)
	}
	for _, task := range Tasks() {
		n, err := task.MaxNewTokens()
		if err != nil || n <= 0 {
			t.Errorf("%s: max new tokens %d, %v", task.Name, n, err)
		}
	}
	if n, _ := mustTask(t, "samsum").MaxNewTokens(); n != 128 {
		t.Errorf("samsum max new tokens %d, official 128", n)
	}
}

func mustTask(t testing.TB, name string) Task {
	t.Helper()
	task, err := LookupTask(name)
	if err != nil {
		t.Fatal(err)
	}
	return task
}

func TestParseTasks(t *testing.T) {
	for _, c := range []struct {
		in   string
		e    bool
		want int
		err  bool
	}{
		{"", false, 0, true},
		{" , ", false, 0, true},
		{"all,", false, 21, false},
		{"all", true, 13, false},
		{"zh", false, 5, false},
		{"en,code", true, 13, false},
		{"hotpotqa,trec,hotpotqa", false, 2, false},
		{"narrativeqa", true, 0, true}, // no LongBench-E file
		{"nq", false, 0, true},
	} {
		got, err := ParseTasks(c.in, c.e)
		if (err != nil) != c.err || len(got) != c.want {
			t.Errorf("ParseTasks(%q, %v) = %d tasks, %v; want %d, error %v", c.in, c.e, len(got), err, c.want, c.err)
		}
	}
}
