package train

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/sdtp/sdtp/model"
	"github.com/sdtp/sdtp/prune"
)

// BenchOptions configure a measurement of training speed and memory.
type BenchOptions struct {
	// Lengths are the text lengths measured, in tokens.
	Lengths []int
	// Repeats is the number of timed runs per length (after one warm-up);
	// the median is reported.
	Repeats int
	// Schedule is the pruning schedule the training step uses.
	Schedule prune.Schedule
	// Width is the modules' MLP width (0: Hidden/4).
	Width int
	// Loss configures the objective (its continuation must fit every length).
	Loss LossConfig
	// Seed draws the token ids and the module's initial weights.
	Seed uint64
	// Progress, when set, is told what is being measured.
	Progress func(what string)
}

// BenchRow is one length's measurements (medians, seconds).
type BenchRow struct {
	Tokens int `json:"tokens"`
	// Prefill is the inference forward pass to the last token's logits,
	// the forward-only reference.
	Prefill float64 `json:"prefill_s"`
	// Saliency is the saliency of one text: the forward pass keeping each
	// block's input, the loss over every position, the backward pass
	// recomputing each block, and the gradient × input at every block.
	Saliency float64 `json:"saliency_s"`
	// Ratio is Saliency / Prefill.
	Ratio float64 `json:"saliency_over_prefill"`
	// TrainText is one text's training loss and module gradient (forward
	// with the modules and sampled masks, losses, backward).
	TrainText float64 `json:"train_text_s"`
	// PeakBytes is the backend's memory peak after the row (lengths run in
	// ascending order, so it is this length's peak).
	PeakBytes int64 `json:"peak_bytes"`
}

// BenchResult is a training-speed measurement.
type BenchResult struct {
	Model    string     `json:"model"`
	Device   string     `json:"device"`
	Schedule string     `json:"schedule"`
	Width    int        `json:"width"`
	Params   int        `json:"module_parameters"`
	Rows     []BenchRow `json:"rows"`
	// AdamW is one optimiser update of every module parameter on the host,
	// with the upload of the new weights to the device.
	AdamW float64 `json:"adamw_s"`
}

// Bench measures, on a device model, the inference prefill, the saliency
// pass and one training text's loss and gradient at each length, and the
// optimiser step.
func Bench(ctx context.Context, f Frozen, o BenchOptions) (*BenchResult, error) {
	dm, ok := f.(*deviceModel)
	if !ok {
		return nil, fmt.Errorf("train bench measures a GPU backend (--backend cuda), not the host reference")
	}
	c := dm.Config()
	if o.Repeats < 1 {
		return nil, fmt.Errorf("repeats %d must be at least 1", o.Repeats)
	}
	if err := o.Schedule.Validate(c.Layers); err != nil {
		return nil, err
	}
	lengths := slices.Clone(o.Lengths)
	slices.Sort(lengths)
	for _, n := range lengths {
		if n < o.Loss.Continuation+2 || n > c.MaxPos {
			return nil, fmt.Errorf("length %d outside [%d, %d] (a %d-token continuation after 2 prompt tokens, the model's positions)", n, o.Loss.Continuation+2, c.MaxPos, o.Loss.Continuation)
		}
	}
	cfg := &Config{Locations: o.Schedule.Locations, Ratio: o.Schedule.Ratio, Width: o.Width, Seed: o.Seed}
	params, err := InitParams(f, cfg)
	if err != nil {
		return nil, err
	}
	res := &BenchResult{Model: c.Name, Device: dm.d.B.Name() + " (" + dm.d.B.Device() + ")", Schedule: o.Schedule.String(), Width: params.Width, Params: len(params.Flat)}
	obj := &Objective{Model: f, Schedule: o.Schedule, Config: o.Loss}
	b := dm.d.B
	for _, n := range lengths {
		ids := benchIDs(n, c.Vocab, o.Seed)
		var row BenchRow
		row.Tokens = n
		say := func(what string) {
			if o.Progress != nil {
				o.Progress(fmt.Sprintf("%d tokens: %s", n, what))
			}
		}
		say("prefill")
		if row.Prefill, err = median(o.Repeats, func() error { return prefill(ctx, dm.d.M, ids) }); err != nil {
			return nil, fmt.Errorf("%d tokens, prefill: %w", n, err)
		}
		var sal [][]float64
		say("saliency")
		row.Saliency, err = median(o.Repeats, func() error {
			var err error
			sal, _, _, err = f.saliency(ctx, ids, 0, nil)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("%d tokens, saliency: %w", n, err)
		}
		row.Ratio = row.Saliency / row.Prefill
		ex := Example{IDs: ids}
		for _, l := range o.Schedule.Locations {
			ex.Saliency = append(ex.Saliency, sal[l])
		}
		say("training text")
		noise := uint64(0)
		row.TrainText, err = median(o.Repeats, func() error {
			noise++
			_, _, err := obj.run(ctx, params, params.ZeroLike(), ex, noise, 1, nil)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("%d tokens, training text: %w", n, err)
		}
		_, row.PeakBytes = b.Memory()
		res.Rows = append(res.Rows, row)
	}
	opt := NewAdamW(len(params.Flat), 0.01)
	grad := params.ZeroLike()
	res.AdamW, err = median(o.Repeats, func() error {
		opt.Update(params.Flat, grad.Flat, 1e-3)
		params.Version++
		return dm.upload(params)
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// prefill runs the inference forward pass of ids (last-token logits).
func prefill(ctx context.Context, m *model.Model, ids []int) error {
	pos := make([]int32, len(ids))
	for i := range pos {
		pos[i] = int32(i)
	}
	cache := m.NewCache(0)
	defer cache.Free()
	_, err := m.Forward(ctx, ids, pos, cache, model.ForwardOptions{})
	return err
}

// median runs fn once to warm up, then repeats times, and returns the
// median wall time of the timed runs.
func median(repeats int, fn func() error) (float64, error) {
	if err := fn(); err != nil {
		return 0, err
	}
	ts := make([]float64, repeats)
	for i := range ts {
		start := time.Now()
		if err := fn(); err != nil {
			return 0, err
		}
		ts[i] = time.Since(start).Seconds()
	}
	sort.Float64s(ts)
	if repeats%2 == 1 {
		return ts[repeats/2], nil
	}
	return (ts[repeats/2-1] + ts[repeats/2]) / 2, nil
}

// benchIDs are n deterministic token ids (never 0).
func benchIDs(n, vocab int, seed uint64) []int {
	ids := make([]int, n)
	z := seed
	for i := range ids {
		z = mix(z + uint64(i))
		ids[i] = 1 + int(z%uint64(vocab-1))
	}
	return ids
}

// Projection is the projected wall time of a training recipe.
type Projection struct {
	Texts   int     `json:"texts"`
	Epochs  int     `json:"epochs"`
	Batch   int     `json:"batch"`
	Tokens  float64 `json:"mean_tokens"`
	Seconds float64 `json:"seconds"`
}

// Project estimates a recipe's wall time from the measured rows: each
// text's saliency once and its training cost once per epoch, at its
// length (interpolated linearly between the measured lengths, extended
// along the nearest segment beyond them), and one optimiser step per
// batch.
func (r *BenchResult) Project(lengths []int, epochs, batch int) Projection {
	p := Projection{Texts: len(lengths), Epochs: epochs, Batch: batch}
	var sum float64
	for _, n := range lengths {
		sal := r.interpolate(n, func(b BenchRow) float64 { return b.Saliency })
		tr := r.interpolate(n, func(b BenchRow) float64 { return b.TrainText })
		p.Seconds += sal + float64(epochs)*tr
		sum += float64(n)
	}
	if len(lengths) > 0 {
		p.Tokens = sum / float64(len(lengths))
	}
	p.Seconds += float64(epochs*StepsPerEpoch(len(lengths), batch)) * r.AdamW
	return p
}

// interpolate is the piecewise-linear value of f at n over the rows.
func (r *BenchResult) interpolate(n int, f func(BenchRow) float64) float64 {
	rows := r.Rows
	if len(rows) == 1 {
		return f(rows[0]) * float64(n) / float64(rows[0].Tokens)
	}
	i := sort.Search(len(rows), func(i int) bool { return rows[i].Tokens >= n })
	i = min(max(i, 1), len(rows)-1)
	a, b := rows[i-1], rows[i]
	t := float64(n-a.Tokens) / float64(b.Tokens-a.Tokens)
	return max(f(a)+t*(f(b)-f(a)), 0)
}
