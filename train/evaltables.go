package train

import (
	"fmt"
	"io"

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
