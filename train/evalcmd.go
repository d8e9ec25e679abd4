package train

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/sdtp/sdtp/prune"
)

// WriteTables writes the report as two markdown tables, end to end and
// per location, after a line saying what was evaluated (schedule s,
// continuation cont).
func (r *EvalReport) WriteTables(w io.Writer, s prune.Schedule, cont int) {
	fmt.Fprintf(w, "%d held-out texts, mean prompt %.1f tokens, %d predictions (last prompt token + %d continuation tokens each), %s\n\n",
		r.Texts, r.PromptMean, r.Predictions, cont-1, s)
	fmt.Fprintln(w, "| scores | next-token agreement | KL(full ‖ pruned) | prompt alive after last stage |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, sr := range r.Scorers {
		fmt.Fprintf(w, "| %s | %.4f | %.5f | %.3f |\n", sr.Name, sr.Agreement, sr.KL, sr.Alive)
	}
	fmt.Fprintln(w, "\n| scores | block | Spearman | Kendall | kept-set overlap |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, sr := range r.Scorers {
		for _, l := range sr.Locations {
			fmt.Fprintf(w, "| %s | %d | %.3f | %.3f | %.3f |\n", sr.Name, l.Layer, l.Spearman, l.Kendall, l.Overlap)
		}
	}
}

// EvalScorers are the scorers 'train eval' compares: each module (named by
// its file name without extension), the random baseline (text i drawn
// with seed+i) and keep-most-recent.
func EvalScorers(mods []*prune.Module, paths []string, seed uint64, hidden int) []NamedScorer {
	var out []NamedScorer
	for i, mod := range mods {
		name := strings.TrimSuffix(filepath.Base(paths[i]), filepath.Ext(paths[i]))
		out = append(out, NamedScorer{Name: name, New: func(int) Scorer { return ModuleScorer{Module: mod} }})
	}
	return append(out,
		NamedScorer{Name: "random", New: func(text int) Scorer {
			return BaselineScorer{Scorer: prune.RandomScorer{Seed: seed + uint64(text)}, Hidden: hidden}
		}},
		NamedScorer{Name: "recent", New: func(int) Scorer {
			return BaselineScorer{Scorer: prune.RecentScorer{}, Hidden: hidden}
		}})
}
