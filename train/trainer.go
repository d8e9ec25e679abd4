package train

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/sdtp/sdtp/internal/atomicfile"
	"github.com/sdtp/sdtp/internal/parallel"
	"github.com/sdtp/sdtp/prune"
	"github.com/sdtp/sdtp/train/data"
)

// Config is everything that determines a training run's result.
type Config struct {
	Locations []int   `json:"locations"`
	Ratio     float64 `json:"ratio"`
	// Width is the MLP's hidden width (0: Hidden/4).
	Width int        `json:"width"`
	Loss  LossConfig `json:"loss"`
	// LR is the peak learning rate (linear warm-up over Warmup steps,
	// then cosine decay to LR/10).
	LR          float64 `json:"lr"`
	Warmup      int     `json:"warmup"`
	WeightDecay float64 `json:"weight_decay"`
	Epochs      int     `json:"epochs"`
	// Batch is the number of texts per optimiser step (their gradients are
	// accumulated).
	Batch int `json:"batch"`
	// Clip rescales a batch gradient whose norm exceeds it to that norm
	// (0: no clipping).
	Clip float64 `json:"clip"`
	Seed uint64  `json:"seed"`
}

// Schedule returns the keep schedule of the run.
func (c *Config) Schedule() prune.Schedule {
	return prune.Schedule{Locations: c.Locations, Ratio: c.Ratio}
}

// Run is one training run: the frozen model, the tokenized texts, the
// configuration and where state goes.
type Run struct {
	Model  Frozen
	Texts  [][]int
	Config Config
	// Checkpoint is the checkpoint file ("" for none), written atomically
	// every CheckpointEvery steps and after the last step.
	Checkpoint      string
	CheckpointEvery int
	// Resume continues from Checkpoint when it exists (starting afresh
	// when it does not). The checkpoint must come from the same
	// configuration, model and texts.
	Resume bool
	// LogPath receives one JSON line per step (appended; on resume, lines
	// after the checkpoint's step are dropped first). "" for none.
	LogPath string
	// Workers bounds the texts processed at once (0: GOMAXPROCS). It does
	// not change the result.
	Workers int
	// Progress, when set, is called after the saliency of each text and
	// after each step.
	Progress func(Progress)
	// Saliency, when not nil, holds every text's saliency at every block,
	// as Saliencies computes it for the configuration's
	// SaliencyContinuation, so that runs over the same texts (a sweep)
	// compute it once; nil computes it at the start. Not with Teacher.
	Saliency [][][]float64
}

// Progress reports where a run is.
type Progress struct {
	Phase       string // "resume" (once, Done = the checkpoint's step), "saliency" or "train"
	Done, Total int
	Terms       Terms // the last step's mean loss (train phase)
	// Warning, at resume, is a caution for the user: the checkpoint was
	// written before checkpoints had digests, so its integrity is unchecked.
	Warning string
}

// StepLog is one line of the training log.
type StepLog struct {
	Step  int     `json:"step"`
	Epoch int     `json:"epoch"`
	LR    float64 `json:"lr"`
	// GradNorm is the batch gradient's norm before clipping.
	GradNorm float64 `json:"grad_norm"`
	Texts    int     `json:"texts"`
	Seconds  float64 `json:"elapsed_s"`
	Terms
}

// Result is a finished run.
type Result struct {
	Params *Params
	Steps  int
	// First and Last are the mean losses of the first and the last epoch.
	First, Last Terms
}

// epochProgress carries the epoch means across a checkpoint: the first
// and the last finished epoch's, and the running sum of the current one.
type epochProgress struct {
	First Terms `json:"first"`
	Last  Terms `json:"last"`
	Sum   Terms `json:"sum"`
	Texts int   `json:"texts"`
}

// StepsPerEpoch is ⌈texts / batch⌉.
func StepsPerEpoch(texts, batch int) int { return (texts + batch - 1) / batch }

func (r *Run) validate() error {
	c := &r.Config
	switch {
	case len(r.Texts) == 0:
		return fmt.Errorf("no training texts")
	case c.Epochs < 1:
		return fmt.Errorf("epochs %d must be at least 1", c.Epochs)
	case c.Batch < 1:
		return fmt.Errorf("batch %d must be at least 1", c.Batch)
	case !(c.LR > 0) || math.IsInf(c.LR, 0):
		return fmt.Errorf("learning rate %v must be positive and finite", c.LR)
	case c.Warmup < 0 || !(c.WeightDecay >= 0) || !(c.Clip >= 0) || math.IsInf(c.WeightDecay+c.Clip, 0):
		return fmt.Errorf("warm-up %d, weight decay %v and clip %v must be finite and not negative", c.Warmup, c.WeightDecay, c.Clip)
	case !(c.Loss.Tau > 0) || math.IsInf(c.Loss.Tau, 0):
		return fmt.Errorf("Gumbel temperature %v must be positive and finite", c.Loss.Tau)
	case c.Loss.MaxPairs < 1:
		return fmt.Errorf("ranking pairs %d must be at least 1", c.Loss.MaxPairs)
	case r.Checkpoint != "" && r.CheckpointEvery < 1:
		return fmt.Errorf("checkpoint interval %d must be at least 1", r.CheckpointEvery)
	}
	w := c.Loss.Weights
	if !(w.Cls >= 0 && w.MSE >= 0 && w.Rank >= 0 && w.Ratio >= 0) || math.IsInf(w.Cls+w.MSE+w.Rank+w.Ratio, 0) || w.Cls+w.MSE+w.Rank+w.Ratio == 0 {
		return fmt.Errorf("loss weights %+v must be finite, non-negative and not all zero", w)
	}
	if _, err := ParseTarget(string(c.Loss.Target)); err != nil {
		return err
	}
	if c.Loss.Continuation < 0 {
		return fmt.Errorf("continuation %d must not be negative", c.Loss.Continuation)
	}
	if r.Saliency != nil {
		switch {
		case c.Loss.Teacher:
			return fmt.Errorf("precomputed saliency cannot be combined with teacher labels (they come from the same pass)")
		case len(r.Saliency) != len(r.Texts):
			return fmt.Errorf("precomputed saliency for %d texts, but %d texts", len(r.Saliency), len(r.Texts))
		}
		for i, sal := range r.Saliency {
			if len(sal) != r.Model.Config().Layers || len(sal[0]) != len(r.Texts[i]) {
				return fmt.Errorf("precomputed saliency of text %d does not fit it (%d blocks of %d tokens)", i, len(sal), len(r.Texts[i]))
			}
		}
	}
	for i, ids := range r.Texts {
		if len(ids) < c.Loss.Continuation+2 {
			return fmt.Errorf("training text %d has %d tokens; at least %d are needed (a %d-token continuation after a prompt of 2 or more)", i, len(ids), c.Loss.Continuation+2, c.Loss.Continuation)
		}
	}
	return c.Schedule().Validate(r.Model.Config().Layers)
}

// fingerprint identifies the configuration, model and texts a checkpoint
// belongs to.
func (r *Run) fingerprint() (string, error) {
	h := sha256.New()
	js, err := json.Marshal(r.Config)
	if err != nil {
		return "", fmt.Errorf("training configuration: %w", err)
	}
	h.Write(js)
	d, err := r.Model.Digest()
	if err != nil {
		return "", err
	}
	h.Write(d[:])
	var b [8]byte
	for _, ids := range r.Texts {
		binary.LittleEndian.PutUint64(b[:], uint64(len(ids)))
		h.Write(b[:])
		for _, id := range ids {
			binary.LittleEndian.PutUint64(b[:], uint64(id))
			h.Write(b[:])
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ModelInfo describes the run's model for the module file.
func ModelInfo(m Frozen) prune.ModelInfo {
	c := m.Config()
	return prune.ModelInfo{Name: c.Name, Arch: c.Arch, Hidden: c.Hidden, Layers: c.Layers}
}

// InitParams returns the starting parameters of a run: prune.NewRandom's
// deterministic weights for the seed.
func InitParams(m Frozen, c *Config) (*Params, error) {
	mod, err := prune.NewRandom(ModelInfo(m), c.Schedule(), c.Width, c.Seed)
	if err != nil {
		return nil, err
	}
	return ParamsFromModule(mod)
}

// Train runs the training loop: saliency of every text once (from the
// frozen, unpruned model), then Epochs passes over the texts in a seeded
// order, one AdamW step per batch. The result depends only on the model,
// the texts and the configuration: not on the worker count, and not on
// whether the run was interrupted and resumed from a checkpoint.
func (r *Run) Train(ctx context.Context) (*Result, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	c := &r.Config
	params, err := InitParams(r.Model, c)
	if err != nil {
		return nil, err
	}
	opt := NewAdamW(len(params.Flat), c.WeightDecay)
	var fp string // identifies the run's checkpoints
	if r.Checkpoint != "" {
		if fp, err = r.fingerprint(); err != nil {
			return nil, err
		}
	}
	spe := StepsPerEpoch(len(r.Texts), c.Batch)
	total := spe * c.Epochs
	start := 0
	var prog epochProgress
	if r.Resume && r.Checkpoint != "" {
		ck, err := loadCheckpoint(r.Checkpoint)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, err
		default:
			if ck.meta.Fingerprint != fp {
				return nil, fmt.Errorf("checkpoint %s belongs to another configuration, model or data set (fingerprint %.12s…, this run %.12s…)", r.Checkpoint, ck.meta.Fingerprint, fp)
			}
			if len(ck.params.Flat) != len(params.Flat) || ck.meta.Step > total {
				return nil, fmt.Errorf("checkpoint %s does not fit this run", r.Checkpoint)
			}
			params = ck.params
			opt.M, opt.V, opt.Step = ck.adamM, ck.adamV, ck.meta.Step
			start = ck.meta.Step
			prog = ck.meta.Epochs
			if r.Progress != nil {
				p := Progress{Phase: "resume", Done: start, Total: total}
				if !ck.verified {
					p.Warning = fmt.Sprintf("checkpoint %s has no digest (written by an older sdtp), so it cannot be checked for damage; if in doubt, delete it and start afresh", r.Checkpoint)
				}
				r.Progress(p)
			}
		}
	}
	examples, err := r.saliency(ctx)
	if err != nil {
		return nil, err
	}
	logf, err := r.openLog(start)
	if err != nil {
		return nil, err
	}
	if logf != nil {
		defer logf.Close()
	}
	obj := &Objective{Model: r.Model, Schedule: c.Schedule(), Config: c.Loss}
	res := &Result{Steps: total}
	began := time.Now()
	for step := start; step < total; step++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		epoch := step / spe
		order := data.Order(len(r.Texts), c.Seed, epoch)
		lo := (step % spe) * c.Batch
		batch := order[lo:min(lo+c.Batch, len(order))]
		terms, grad, err := r.batchGrad(obj, params, examples, batch, step)
		if err != nil {
			return nil, err
		}
		lr := LearningRate(c.LR, step, total, c.Warmup)
		norm := clipNorm(grad.Flat, c.Clip)
		if !finite(terms.Total) || !finite(norm) {
			return nil, fmt.Errorf("step %d: the training diverged (loss %v, gradient norm %v); lower the learning rate or clip the gradient", step+1, terms.Total, norm)
		}
		opt.Update(params.Flat, grad.Flat, lr)
		params.Version++
		if logf != nil {
			line, err := json.Marshal(StepLog{Step: step + 1, Epoch: epoch, LR: lr, GradNorm: norm, Texts: len(batch), Seconds: time.Since(began).Seconds(), Terms: terms})
			if err != nil {
				return nil, fmt.Errorf("loss log %s, step %d: %w", r.LogPath, step+1, err)
			}
			if _, err := logf.Write(append(line, '\n')); err != nil {
				return nil, fmt.Errorf("loss log %s: %w", r.LogPath, err)
			}
		}
		prog.Sum.add(terms, float64(len(batch)))
		prog.Texts += len(batch)
		if (step+1)%spe == 0 || step+1 == total {
			var mean Terms
			mean.add(prog.Sum, 1/float64(prog.Texts))
			if epoch == 0 {
				prog.First = mean
			}
			prog.Last = mean
			prog.Sum, prog.Texts = Terms{}, 0
		}
		if r.Checkpoint != "" && ((step+1)%r.CheckpointEvery == 0 || step+1 == total) {
			ck := &checkpoint{meta: checkpointMeta{Format: CheckpointFormat, Step: step + 1, TotalSteps: total, Fingerprint: fp, Hidden: params.Hidden, Width: params.Width, Stages: len(params.Stages), Epochs: prog}, params: params, adamM: opt.M, adamV: opt.V}
			if err := ck.save(r.Checkpoint); err != nil {
				return nil, err
			}
		}
		if r.Progress != nil {
			r.Progress(Progress{Phase: "train", Done: step + 1, Total: total, Terms: terms})
		}
	}
	res.Params = params
	res.First, res.Last = prog.First, prog.Last
	return res, nil
}

// clipNorm returns the norm of g and, when clip > 0 and the norm exceeds
// it, scales g down to norm clip.
func clipNorm(g []float64, clip float64) float64 {
	var s float64
	for _, v := range g {
		s += v * v
	}
	norm := math.Sqrt(s)
	if clip > 0 && norm > clip {
		f := clip / norm
		for i := range g {
			g[i] *= f
		}
	}
	return norm
}

// noiseSeed gives each (step, text) its own Gumbel and pair-sampling
// stream, fixed by the run's seed.
func noiseSeed(seed uint64, step, text int) uint64 {
	return mix(mix(seed^0x9e3779b97f4a7c15) ^ mix(uint64(step)<<32|uint64(uint32(text))))
}

// mix is splitmix64's finaliser.
func mix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// batchGrad computes the batch's mean loss and gradient. Each text's
// gradient goes to its own buffer and the buffers are summed in batch
// order, so the result does not depend on the worker count.
func (r *Run) batchGrad(obj *Objective, p *Params, ex []Example, batch []int, step int) (Terms, *Params, error) {
	grads := make([]*Params, len(batch))
	terms := make([]Terms, len(batch))
	errs := make([]error, len(batch))
	scale := 1 / float64(len(batch))
	workers := r.Model.Workers(r.Workers)
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(workers, len(batch)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range next {
				grads[k] = p.ZeroLike()
				terms[k], errs[k] = obj.Loss(p, grads[k], ex[batch[k]], noiseSeed(r.Config.Seed, step, batch[k]), scale)
			}
		}()
	}
	for k := range batch {
		next <- k
	}
	close(next)
	wg.Wait()
	sum := p.ZeroLike()
	var mean Terms
	for k := range batch {
		if errs[k] != nil {
			return Terms{}, nil, fmt.Errorf("training text %d: %w", batch[k], errs[k])
		}
		for i, v := range grads[k].Flat {
			sum.Flat[i] += v
		}
		mean.add(terms[k], scale)
	}
	return mean, sum, nil
}

// saliency computes every text's saliency at the schedule's locations
// (or takes it from r.Saliency).
func (r *Run) saliency(ctx context.Context) ([]Example, error) {
	ex := make([]Example, len(r.Texts))
	locs := r.Config.Locations
	if r.Saliency != nil {
		for i, sal := range r.Saliency {
			ex[i] = Example{IDs: r.Texts[i]}
			for _, l := range locs {
				ex[i].Saliency = append(ex[i].Saliency, sal[l])
			}
		}
		return ex, nil
	}
	var progress func(done, total int)
	if r.Progress != nil {
		progress = func(done, total int) { r.Progress(Progress{Phase: "saliency", Done: done, Total: total}) }
	}
	err := parallel.ForEach(ctx, len(r.Texts), r.Model.Workers(r.Workers), "training text", func(_, i int) error {
		var rows []int
		if r.Config.Loss.Teacher {
			rows = r.Config.Loss.ClsRows(len(r.Texts[i]))
		}
		sal, teacher, _, err := r.Model.saliency(ctx, r.Texts[i], r.Config.Loss.SaliencyContinuation(), rows)
		if err != nil {
			return err
		}
		e := Example{IDs: r.Texts[i], Teacher: teacher}
		for _, l := range locs {
			e.Saliency = append(e.Saliency, sal[l])
		}
		ex[i] = e
		return nil
	}, progress)
	if err != nil {
		return nil, err
	}
	return ex, nil
}

// openLog opens the loss log for appending; when resuming from step, it
// first drops the lines of later steps (written after the checkpoint by an
// interrupted run), rewriting the file atomically.
func (r *Run) openLog(step int) (*os.File, error) {
	if r.LogPath == "" {
		return nil, nil
	}
	if step == 0 {
		f, err := os.Create(r.LogPath)
		if err != nil {
			return nil, fmt.Errorf("loss log: %w", err)
		}
		return f, nil
	}
	old, err := os.ReadFile(r.LogPath)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("loss log: %w", err)
	}
	var kept bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(old))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var l struct {
			Step int `json:"step"`
		}
		if json.Unmarshal(sc.Bytes(), &l) != nil || l.Step > step {
			break
		}
		kept.Write(sc.Bytes())
		kept.WriteByte('\n')
	}
	if err := atomicfile.WriteFile(r.LogPath, kept.Bytes()); err != nil {
		return nil, fmt.Errorf("loss log: %w", err)
	}
	f, err := os.OpenFile(r.LogPath, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, fmt.Errorf("loss log: %w", err)
	}
	return f, nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
