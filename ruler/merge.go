package ruler

import (
	"slices"

	"github.com/sdtp/sdtp/evalrun"
	"github.com/sdtp/sdtp/internal/shard"
)

// Merge joins the folders of a sharded run ('ruler run --shard I/N') into
// one run folder, out: every sample of tasks × lengths × samples (as the
// shards were run) exactly once, length by length, and meta.json without
// the shard. It refuses shards of other settings or splits, a missing
// shard, and missing, repeated or foreign samples (see shard.Set.Merge).
func Merge(out string, dirs []string, tasks []Task, lengths []int, samples int) (shard.Stats, error) {
	set, err := shard.Open(dirs, evalrun.MetaFile)
	if err != nil {
		return shard.Stats{}, err
	}
	lengths = slices.Clone(lengths)
	slices.Sort(lengths)
	lengths = slices.Compact(lengths)
	var st []shard.Task
	for _, t := range tasks {
		task := shard.Task{File: t.Name + ".jsonl", Parse: func(line []byte) (string, error) {
			p, err := ParsePrediction(line)
			return p.ID, err
		}}
		for _, l := range lengths {
			for i := range samples {
				task.IDs = append(task.IDs, SampleID(t.Name, l, i))
			}
		}
		st = append(st, task)
	}
	return set.Merge(out, st)
}
