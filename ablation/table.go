package ablation

import (
	"fmt"
	"io"

	"github.com/sdtp/sdtp/train"
)

// WriteTable writes the rows as one markdown table: per point its
// schedule, loss, prompt alive after the last stage, prefill FLOPs ratio,
// the module's KL and next-token agreement, and the KL of the
// keep-most-recent, random and saliency-oracle scorers at the same
// schedule.
func WriteTable(w io.Writer, rows []*Row) error {
	if _, err := fmt.Fprintln(w, "| point | locations | keep ratio | stages | loss | prompt alive | prefill FLOPs | module KL | module agreement | recent KL | random KL | oracle KL |"); err != nil {
		return err
	}
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		m := r.Scorer(ModuleScorer)
		if m == nil {
			return fmt.Errorf("row %s has no evaluation of its module", r.Name)
		}
		fmt.Fprintf(w, "| %s | %s | %g | %d | %s | %.3f | %.3f | %.5f | %.4f | %s | %s | %s |\n",
			r.Name, locationList(r.Locations), r.Ratio, r.Stages, r.Loss, m.Alive, r.FLOPsRatio, m.KL, m.Agreement,
			kl(r, "recent"), kl(r, "random"), kl(r, train.OracleName))
	}
	return nil
}

func kl(r *Row, scorer string) string {
	if s := r.Scorer(scorer); s != nil {
		return fmt.Sprintf("%.5f", s.KL)
	}
	return "—"
}
