package train

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math"

	"github.com/sdtp/sdtp/backend"
	"github.com/sdtp/sdtp/model"
	"github.com/sdtp/sdtp/train/dlm"
)

// Device is the frozen decoder on a compute backend (train/dlm): the
// inference weights, the backend's training ops, and the pruning modules'
// MLPs run there too; the losses on the modules' scores, the Gumbel
// decisions and the optimiser stay on the host (n values per stage). It
// processes one text at a time. digest identifies the weights (see
// WeightsDigest); it is called when a checkpoint needs it.
func Device(d *dlm.Model, digest func() ([sha256.Size]byte, error)) Frozen {
	return &deviceModel{d: d, digest: digest}
}

type deviceModel struct {
	d      *dlm.Model
	digest func() ([sha256.Size]byte, error)
	// The modules' weights on the device, uploaded when the parameters
	// change (Params.Version).
	params  *Params
	version uint64
	weights [][4]backend.Weight // per stage: W1, B1, W2, B2
}

func (m *deviceModel) Config() *model.Config { return m.d.Config() }

func (m *deviceModel) Digest() ([sha256.Size]byte, error) { return m.digest() }

func (m *deviceModel) Workers(int) int { return 1 }

func (m *deviceModel) saliency(ctx context.Context, ids []int, cont int, teacherRows []int) ([][]float64, [][]float32, float64, error) {
	if len(ids) < cont+2 || cont < 0 {
		return nil, nil, 0, fmt.Errorf("saliency needs at least %d tokens (a prompt of 2 or more and a %d-token continuation), got %d", cont+2, cont, len(ids))
	}
	tr, err := m.d.Forward(ctx, ids, nil)
	if err != nil {
		return nil, nil, 0, err
	}
	defer tr.Free()
	var teacher [][]float32
	if len(teacherRows) > 0 {
		lp, err := tr.LogProbs(teacherRows)
		if err != nil {
			return nil, nil, 0, err
		}
		for _, row := range lp {
			teacher = append(teacher, narrow(row))
		}
	}
	sal, loss, err := tr.Saliency(ctx, LossRows(len(ids), cont)[0])
	return sal, teacher, loss, err
}

func (m *deviceModel) forward(ctx context.Context, ids []int, masks maskFunc) (pass, error) {
	var f dlm.KeyMasks
	if masks != nil {
		var last []float64
		var last32 []float32
		f = func(l int, x backend.Tensor) ([]float32, error) {
			k, err := masks(l, deviceHidden{m.d.B, x})
			if err != nil || k == nil {
				return nil, err
			}
			if len(k) != len(last) || &k[0] != &last[0] {
				last, last32 = k, narrow(k)
			}
			return last32, nil // the same slice for the same mask: uploaded once
		}
	}
	tr, err := m.d.Forward(ctx, ids, f)
	if err != nil {
		return nil, err
	}
	return &devicePass{m: m, tr: tr}, nil
}

// upload puts p's stage weights on the device unless they are there.
func (m *deviceModel) upload(p *Params) error {
	if m.params == p && m.version == p.Version && m.weights != nil {
		return nil
	}
	m.freeWeights()
	b := m.d.B
	for _, st := range p.Stages {
		var ws [4]backend.Weight
		for i, v := range [][]float64{st.W1, st.B1, st.W2, st.B2} {
			rows := 1
			switch i {
			case 0:
				rows = p.Width
			case 2:
				rows = 2
			}
			w, err := b.NewWeight(backend.F32, rows, len(v)/rows, f32Bytes(v))
			if err != nil {
				return fmt.Errorf("pruning module weights: %w", err)
			}
			ws[i] = w
		}
		m.weights = append(m.weights, ws)
	}
	m.params, m.version = p, p.Version
	return nil
}

func (m *deviceModel) freeWeights() {
	for _, ws := range m.weights {
		for _, w := range ws {
			if w != nil {
				m.d.B.FreeWeight(w)
			}
		}
	}
	m.weights = nil
}

// f32Bytes encodes v as little-endian float32.
func f32Bytes(v []float64) []byte {
	out := make([]byte, 4*len(v))
	for i, x := range v {
		u := math.Float32bits(float32(x))
		out[4*i], out[4*i+1], out[4*i+2], out[4*i+3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
	}
	return out
}

func (m *deviceModel) stage(p *Params, s int, x hidden, n int) (stageRun, error) {
	if err := m.upload(p); err != nil {
		return nil, err
	}
	b := m.d.B
	xt := x.(deviceHidden).t
	ws := m.weights[s]
	r := &deviceStage{m: m, x: xt, ws: ws, pre: b.New(n, p.Width), act: b.New(n, p.Width), out: make([]float64, 2*n)}
	lg := b.New(n, 2)
	defer b.Free(lg)
	b.MatMul(r.pre, xt, ws[0], ws[1])
	b.GELU(r.act, r.pre)
	b.MatMul(lg, r.act, ws[2], ws[3])
	host := make([]float32, 2*n)
	b.ToHost(host, lg)
	if err := b.Sync(); err != nil {
		r.free()
		return nil, err
	}
	for i, v := range host {
		r.out[i] = float64(v)
	}
	return r, nil
}

type deviceStage struct {
	m        *deviceModel
	x        backend.Tensor // the block input (owned by the pass)
	ws       [4]backend.Weight
	pre, act backend.Tensor
	out      []float64
}

func (r *deviceStage) logits() []float64 { return r.out }

func (r *deviceStage) backward(g *StageParams, dlogits []float64) error {
	b, tr := r.m.d.B, r.m.d.T
	n, w, hid := r.x.Rows(), r.pre.Cols(), r.x.Cols()
	for i := range n { // fc2.bias: the column sums, on the host
		g.B2[0] += dlogits[2*i]
		g.B2[1] += dlogits[2*i+1]
	}
	dl := b.FromHost(narrow(dlogits), n, 2)
	defer b.Free(dl)
	dw2 := b.New(2, w)
	defer b.Free(dw2)
	tr.MatMulBackWeight(dw2, dl, r.act)
	dact := b.New(n, w)
	defer b.Free(dact)
	tr.MatMulBackInput(dact, dl, r.ws[2], false)
	tr.GELUBack(dact, dact, r.pre)
	dw1 := b.New(w, hid)
	defer b.Free(dw1)
	tr.MatMulBackWeight(dw1, dact, r.x)
	ones := make([]float32, n)
	for i := range ones {
		ones[i] = 1
	}
	on := b.FromHost(ones, n, 1)
	defer b.Free(on)
	db1 := b.New(w, 1)
	defer b.Free(db1)
	tr.MatMulBackWeight(db1, dact, on)
	for _, t := range []struct {
		dst []float64
		src backend.Tensor
	}{{g.W2, dw2}, {g.W1, dw1}, {g.B1, db1}} {
		host := make([]float32, len(t.dst))
		b.ToHost(host, t.src)
		for i, v := range host {
			t.dst[i] += float64(v)
		}
	}
	return b.Sync()
}

func (r *deviceStage) free() {
	b := r.m.d.B
	b.Free(r.pre)
	b.Free(r.act)
}

type devicePass struct {
	m    *deviceModel
	tr   *dlm.Trace
	dout backend.Tensor
}

func (p *devicePass) clsLoss(ids, rows []int, teacher [][]float32, weight, scale float64, grad bool) (float64, error) {
	b, c := p.m.d.B, p.m.Config()
	var dout backend.Tensor
	if grad {
		if p.dout == nil {
			p.dout = b.New(p.tr.Len(), c.Hidden)
		}
		p.m.d.T.Zero(p.dout)
		dout = p.dout
	}
	if len(rows) == 0 {
		return 0, nil
	}
	if teacher != nil {
		return p.tr.DistillLoss(rows, teacher, dout, weight*scale)
	}
	if rows[len(rows)-1] != len(ids)-2 {
		return 0, fmt.Errorf("loss rows %d..%d must end at the text's second last token (%d)", rows[0], rows[len(rows)-1], len(ids)-2)
	}
	return p.tr.NextTokenLoss(rows[0], dout, weight*scale)
}

func (p *devicePass) backward(ctx context.Context, at func(l int, dkeep []float64) error) error {
	b, c := p.m.d.B, p.m.Config()
	if p.dout == nil {
		p.dout = b.New(p.tr.Len(), c.Hidden)
		p.m.d.T.Zero(p.dout)
	}
	host := make([]float32, p.tr.Len())
	return p.tr.Backward(ctx, p.dout, func(l int, _, dkeep backend.Tensor) error {
		if dkeep == nil {
			return at(l, nil)
		}
		b.ToHost(host, dkeep)
		dk := make([]float64, len(host))
		for i, v := range host {
			dk[i] = float64(v)
		}
		return at(l, dk)
	})
}

func (p *devicePass) logProbs(row int) ([]float64, error) {
	lp, err := p.tr.LogProbs([]int{row})
	if err != nil {
		return nil, err
	}
	return lp[0], nil
}

func (p *devicePass) input(l int) ([]float64, error) {
	return deviceHidden{p.m.d.B, p.tr.Input(l)}.host()
}

// deviceHidden is a block input on a backend.
type deviceHidden struct {
	b backend.Backend
	t backend.Tensor
}

// host copies the hidden states to the host as float64 values.
func (h deviceHidden) host() ([]float64, error) {
	f := make([]float32, h.t.Rows()*h.t.Cols())
	h.b.ToHost(f, h.t)
	if err := h.b.Sync(); err != nil {
		return nil, err
	}
	out := make([]float64, len(f))
	for i, v := range f {
		out[i] = float64(v)
	}
	return out, nil
}

func (p *devicePass) free() {
	if p.dout != nil {
		p.m.d.B.Free(p.dout)
	}
	p.tr.Free()
}
