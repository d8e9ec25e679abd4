package longbench

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/sdtp/sdtp/evalrun"
	"github.com/sdtp/sdtp/internal/shard"
)

// Merge joins the folders of a sharded run ('longbench run --shard I/N')
// into one run folder, out: every row of each task the shards ran (its
// data's first --limit rows, read from data again) exactly once, in data
// order, and meta.json without the shard. It refuses shards of other
// settings or splits, a missing shard, and missing, repeated or foreign
// rows (see shard.Set.Merge).
func Merge(data, out string, dirs []string) (shard.Stats, error) {
	var st shard.Stats
	set, err := shard.Open(dirs, evalrun.MetaFile)
	if err != nil {
		return st, err
	}
	limit, err := strconv.Atoi(set.Settings["limit"])
	if err != nil {
		return st, errors.New("the shards' meta.json has no limit setting: they were not made by 'longbench run --shard'")
	}
	e := set.Settings["longbench_e"] == "true"
	files, err := set.Files()
	if err != nil {
		return st, err
	}
	if len(files) == 0 {
		return st, fmt.Errorf("the shard folders hold no predictions (<task>.jsonl)")
	}
	var tasks []shard.Task
	for _, f := range files {
		t, err := LookupTask(strings.TrimSuffix(f, ".jsonl"))
		if err != nil {
			return st, fmt.Errorf("%s in the shard folders: %w", f, err)
		}
		rows, err := ReadTaskRows(data, t, e)
		if err != nil {
			return st, err
		}
		if limit > 0 && len(rows) > limit {
			rows = rows[:limit]
		}
		task := shard.Task{File: f, Parse: func(line []byte) (string, error) {
			p, err := ParsePrediction(line)
			return p.ID, err
		}}
		for _, r := range rows {
			task.IDs = append(task.IDs, r.ID)
		}
		tasks = append(tasks, task)
	}
	return set.Merge(out, tasks)
}
