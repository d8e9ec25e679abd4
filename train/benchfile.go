package train

import (
	"fmt"
	"io"
)

// BenchFile is what 'train bench' writes: the measurements and the
// projected wall times of a recipe.
type BenchFile struct {
	Meta        Meta              `json:"meta"`
	Result      *BenchResult      `json:"result"`
	Projections []NamedProjection `json:"projections"`
}

// NamedProjection is a recipe projection and the text lengths it assumed.
type NamedProjection struct {
	Lengths string `json:"lengths"`
	Projection
}

// Projections projects a recipe of epochs over texts in batches: over the
// lengths of the texts of a data file (named data) when there are some,
// else over texts all of one measured length, for each length measured.
func (r *BenchResult) Projections(data string, dataLengths []int, texts, epochs, batch int) []NamedProjection {
	if dataLengths != nil {
		return []NamedProjection{{Lengths: "--data " + data, Projection: r.Project(dataLengths, epochs, batch)}}
	}
	var out []NamedProjection
	for _, row := range r.Rows {
		all := make([]int, texts)
		for i := range all {
			all[i] = row.Tokens
		}
		out = append(out, NamedProjection{Lengths: fmt.Sprintf("all %d", row.Tokens), Projection: r.Project(all, epochs, batch)})
	}
	return out
}

// WriteTables prints the measurements and projections as markdown.
func (f *BenchFile) WriteTables(w io.Writer) {
	r := f.Result
	fmt.Fprintf(w, "%s on %s, schedule %s, module width %d (%d parameters)\n\n", r.Model, r.Device, r.Schedule, r.Width, r.Params)
	fmt.Fprintln(w, "| tokens | prefill s | saliency s | saliency / prefill | training text s | peak GiB |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for _, row := range r.Rows {
		fmt.Fprintf(w, "| %d | %.4f | %.4f | %.2f | %.4f | %.2f |\n", row.Tokens, row.Prefill, row.Saliency, row.Ratio, row.TrainText, float64(row.PeakBytes)/(1<<30))
	}
	fmt.Fprintf(w, "\nAdamW step over every module parameter (host) and upload: %.4f s\n\n", r.AdamW)
	fmt.Fprintln(w, "| recipe lengths | texts | epochs | batch | mean tokens | projected wall time |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for _, p := range f.Projections {
		fmt.Fprintf(w, "| %s | %d | %d | %d | %.0f | %.1f min |\n", p.Lengths, p.Texts, p.Epochs, p.Batch, p.Tokens, p.Seconds/60)
	}
}
