package report

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// sig formats v with four significant digits and no exponent (1234,
// 12.35, 0.001235); zero is "0".
func sig(v float64) string {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	dec := max(0, 3-int(math.Floor(math.Log10(math.Abs(v)))))
	return strconv.FormatFloat(v, 'f', dec, 64)
}

// unit is a scale for a column: values are divided by Div and the header
// names Name.
type unit struct {
	Name string
	Div  float64
}

// flopsUnit picks G or T FLOPs for a column whose largest value is max.
func flopsUnit(max float64) unit {
	if max >= 1e12 {
		return unit{"TFLOPs", 1e12}
	}
	return unit{"GFLOPs", 1e9}
}

// bytesUnit picks MiB or GiB for a column whose largest value is max.
func bytesUnit(max int64) unit {
	if max >= 1<<30 {
		return unit{"GiB", 1 << 30}
	}
	return unit{"MiB", 1 << 20}
}

// times formats a speedup or reduction factor: "1.23×".
func times(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) + "×" }

// noisyMark follows a speedup flagged noisy (bench.Speedup.PrefillNoisy,
// TotalNoisy): its range is too wide for the figure to say much.
const noisyMark = "†"

// speedup formats a speedup, marked when it is noisy.
func speedup(v float64, noisy bool) string {
	if noisy {
		return times(v) + noisyMark
	}
	return times(v)
}

// speedupRange formats a speedup's range ("1.10–1.52×"), or "—" for a
// result without ranges (older versions of bench).
func speedupRange(r [2]float64) string {
	if r[1] == 0 {
		return "—"
	}
	return strconv.FormatFloat(r[0], 'f', 2, 64) + "–" + times(r[1])
}

// percent formats a relative change with its sign: "-12.3%".
func percent(v float64) string { return fmt.Sprintf("%+.1f%%", 100*v) }

// table accumulates a markdown table.
type table struct {
	head  []string
	align []string
	rows  [][]string
}

func newTable(cols ...string) *table {
	t := &table{}
	for _, c := range cols {
		// a leading '>' right-aligns the column
		if strings.HasPrefix(c, ">") {
			t.head = append(t.head, c[1:])
			t.align = append(t.align, "---:")
		} else {
			t.head = append(t.head, c)
			t.align = append(t.align, "---")
		}
	}
	return t
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) write(w io.Writer) error {
	line := func(cells []string) string { return "| " + strings.Join(cells, " | ") + " |\n" }
	var b strings.Builder
	b.WriteString(line(t.head))
	b.WriteString(line(t.align))
	for _, r := range t.rows {
		cells := make([]string, len(t.head))
		for i := range cells {
			if i < len(r) {
				cells[i] = strings.ReplaceAll(r[i], "|", "\\|")
			}
		}
		b.WriteString(line(cells))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writer keeps the first write error so sections can be written in a row.
type writer struct {
	w   io.Writer
	err error
}

func (w *writer) printf(format string, a ...any) {
	if w.err == nil {
		_, w.err = fmt.Fprintf(w.w, format, a...)
	}
}

func (w *writer) table(t *table) {
	if w.err == nil {
		w.err = t.write(w.w)
	}
}
