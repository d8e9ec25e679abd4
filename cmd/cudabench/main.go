// Command cudabench times a Qwen2-shaped decoder stack (random weights) and
// the attention kernels on a backend, for measuring the CUDA backend before
// `sdtp bench` exists and for kernel-level figures (attention TFLOP/s,
// decode attention GB/s) that `sdtp bench` does not report.
//
//	cudabench -backend cuda -lens 1024,4096,32768 -decode 128
package main

import (
	"flag"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sdtp/sdtp/backend"
	_ "github.com/sdtp/sdtp/backend/cuda"
)

// shape is a Qwen2-style decoder.
type shape struct {
	layers, d, heads, kv, hd, ffn, vocab int
}

var shapes = map[string]shape{
	"qwen2-7b":   {28, 3584, 28, 4, 128, 18944, 152064},
	"qwen2-0.5b": {24, 896, 14, 2, 64, 4864, 151936},
	"tiny":       {2, 64, 4, 2, 16, 128, 256},
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "cudabench:", err)
		os.Exit(1)
	}
}

func run() error {
	be := flag.String("backend", "cuda", "backend to time (cuda, cpu)")
	model := flag.String("model", "qwen2-7b", "model shape: qwen2-7b, qwen2-0.5b, tiny")
	lensFlag := flag.String("lens", "1024,2048,4096,8192,16384,32768", "comma-separated prompt lengths")
	decode := flag.Int("decode", 128, "greedy tokens decoded after each prefill (0: none)")
	attnOnly := flag.Bool("attn", true, "also time the attention op alone (prefill TFLOP/s, decode GB/s)")
	reps := flag.Int("reps", 3, "timed repetitions of each prefill (median reported)")
	flag.Parse()
	sh, ok := shapes[*model]
	if !ok {
		return fmt.Errorf("-model %q: unknown shape", *model)
	}
	var lens []int
	for _, f := range strings.Split(*lensFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("-lens: bad length %q", f)
		}
		lens = append(lens, n)
	}
	b, err := backend.Open(*be, backend.Options{})
	if err != nil {
		return err
	}
	defer b.Close()
	fmt.Printf("device: %s (%s), model shape %s %+v\n", b.Device(), b.Name(), *model, sh)

	t0 := time.Now()
	m, err := newModel(b, sh, slices.Max(lens)+*decode)
	if err != nil {
		return err
	}
	if err := b.Sync(); err != nil {
		return err
	}
	used, _ := b.Memory()
	fmt.Printf("weights generated on the device in %.2fs, %.2f GB in use\n", time.Since(t0).Seconds(), float64(used)/1e9)

	type row struct {
		n                     int
		prefill, decMs, e2e   float64
		attnTF, decGBs, decUs float64
	}
	var rows []row
	for _, n := range lens {
		var ts []float64
		for r := 0; r < *reps+1; r++ { // first run warms up
			start := time.Now()
			m.prefill(n)
			if err := b.Sync(); err != nil {
				return err
			}
			if r > 0 {
				ts = append(ts, time.Since(start).Seconds())
			}
		}
		slices.Sort(ts)
		rw := row{n: n, prefill: ts[len(ts)/2]}
		if *decode > 0 {
			start := time.Now()
			m.prefill(n)
			pre := time.Since(start)
			dstart := time.Now()
			for i := 0; i < *decode; i++ {
				m.decodeStep(n + i)
			}
			if err := b.Sync(); err != nil {
				return err
			}
			dec := time.Since(dstart)
			rw.decMs = dec.Seconds() * 1000 / float64(*decode)
			rw.e2e = (pre + dec).Seconds()
			// The blocks alone, queued back to back with no per-token
			// sync or logits: the device-side cost of a step.
			qstart := time.Now()
			const steps = 16
			for i := 0; i < steps; i++ {
				m.blocks([]int32{1}, n+i)
			}
			if err := b.Sync(); err != nil {
				return err
			}
			fmt.Printf("n=%d decode blocks only: %.2f ms/token\n", n, time.Since(qstart).Seconds()*1000/steps)
		}
		if *attnOnly {
			rw.attnTF, rw.decGBs, rw.decUs = m.timeAttention(n)
		}
		rows = append(rows, rw)
		fmt.Printf("n=%d prefill %.4fs decode %.2f ms/token e2e %.3fs attention %.0f TFLOP/s decode-attn %.1f us %.0f GB/s\n",
			n, rw.prefill, rw.decMs, rw.e2e, rw.attnTF, rw.decUs, rw.decGBs)
	}
	_, peak := b.Memory()
	fmt.Printf("\npeak device memory %.2f GB\n", float64(peak)/1e9)
	fmt.Println("| tokens | prefill s | decode ms/tok | e2e s | attn TFLOP/s | decode attn GB/s (µs/layer) |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Printf("| %d | %.4f | %.2f | %.3f | %.0f | %.0f (%.1f) |\n", r.n, r.prefill, r.decMs, r.e2e, r.attnTF, r.decGBs, r.decUs)
	}
	return b.Sync()
}

// layer holds one decoder block's weights and KV cache.
type layer struct {
	ln1, ln2                   backend.Weight
	wq, wk, wv, wo, bq, bk, bv backend.Weight
	wg, wu, wd                 backend.Weight
	kc, vc                     backend.Tensor // cache rows × kv·hd
}

type model struct {
	b       backend.Backend
	sh      shape
	embed   backend.Weight
	lmHead  backend.Weight
	norm    backend.Weight
	layers  []layer
	invFreq []float32
	maxN    int
	// workspaces sized for maxN rows
	h, xn, q, att, o, g, u, a backend.Tensor
	logits                    backend.Tensor
	logitsHost                []float32
	attn                      backend.AttentionShape
}

func newModel(b backend.Backend, sh shape, maxN int) (*model, error) {
	m := &model{b: b, sh: sh, maxN: maxN}
	seed := uint64(1)
	rnd := func(rows, cols int) (backend.Weight, error) {
		seed++
		return b.RandomWeight(backend.BF16, rows, cols, seed, float32(1/math.Sqrt(float64(cols))))
	}
	var err error
	must := func(w backend.Weight, e error) backend.Weight {
		if e != nil && err == nil {
			err = e
		}
		return w
	}
	m.embed = must(rnd(sh.vocab, sh.d))
	m.lmHead = must(rnd(sh.vocab, sh.d))
	m.norm = must(b.ConstWeight(backend.BF16, 1, sh.d, 1))
	qd, kd := sh.heads*sh.hd, sh.kv*sh.hd
	for i := 0; i < sh.layers; i++ {
		l := layer{
			ln1: must(b.ConstWeight(backend.BF16, 1, sh.d, 1)), ln2: must(b.ConstWeight(backend.BF16, 1, sh.d, 1)),
			wq: must(rnd(qd, sh.d)), wk: must(rnd(kd, sh.d)), wv: must(rnd(kd, sh.d)), wo: must(rnd(sh.d, qd)),
			bq: must(rnd(1, qd)), bk: must(rnd(1, kd)), bv: must(rnd(1, kd)),
			wg: must(rnd(sh.ffn, sh.d)), wu: must(rnd(sh.ffn, sh.d)), wd: must(rnd(sh.d, sh.ffn)),
			kc: b.New(maxN, kd), vc: b.New(maxN, kd),
		}
		m.layers = append(m.layers, l)
		if err != nil {
			return nil, err
		}
	}
	m.invFreq = make([]float32, sh.hd/2)
	for j := range m.invFreq {
		m.invFreq[j] = float32(math.Pow(1e6, -2*float64(j)/float64(sh.hd)))
	}
	m.h, m.xn, m.o = b.New(maxN, sh.d), b.New(maxN, sh.d), b.New(maxN, sh.d)
	m.q, m.att = b.New(maxN, qd), b.New(maxN, qd)
	m.g, m.u, m.a = b.New(maxN, sh.ffn), b.New(maxN, sh.ffn), b.New(maxN, sh.ffn)
	m.logits = b.New(1, sh.vocab)
	m.logitsHost = make([]float32, sh.vocab)
	m.attn = backend.AttentionShape{Heads: sh.heads, KVHeads: sh.kv, HeadDim: sh.hd, Scale: float32(1 / math.Sqrt(float64(sh.hd)))}
	return m, err
}

// forward runs the blocks over n new tokens standing at cache rows
// [start, start+n) and returns the index of the greedy next token.
func (m *model) forward(ids []int32, start int) int {
	m.blocks(ids, start)
	b := m.b
	n := len(ids)
	last := b.View(m.xn, n-1, 1)
	b.RMSNorm(last, b.View(m.h, n-1, 1), m.norm, 1e-6)
	b.MatMul(m.logits, last, m.lmHead, nil)
	b.ToHost(m.logitsHost, m.logits)
	best := 0
	for i, x := range m.logitsHost {
		if x > m.logitsHost[best] {
			best = i
		}
	}
	return best
}

// blocks queues the embedding and the decoder blocks for ids.
func (m *model) blocks(ids []int32, start int) {
	b, sh := m.b, m.sh
	n := len(ids)
	pos := make([]int32, n)
	for i := range pos {
		pos[i] = int32(start + i)
	}
	idv, posv := b.Ints(ids), b.Ints(pos)
	defer b.FreeInts(idv)
	defer b.FreeInts(posv)
	v := func(t backend.Tensor) backend.Tensor { return b.View(t, 0, n) }
	h, xn, q, att, o, g, u, a := v(m.h), v(m.xn), v(m.q), v(m.att), v(m.o), v(m.g), v(m.u), v(m.a)
	b.Embed(h, m.embed, idv)
	for _, l := range m.layers {
		b.RMSNorm(xn, h, l.ln1, 1e-6)
		kNew, vNew := b.View(l.kc, start, n), b.View(l.vc, start, n)
		b.MatMul(q, xn, l.wq, l.bq)
		b.MatMul(kNew, xn, l.wk, l.bk)
		b.MatMul(vNew, xn, l.wv, l.bv)
		b.RoPE(q, posv, sh.heads, sh.hd, m.invFreq)
		b.RoPE(kNew, posv, sh.kv, sh.hd, m.invFreq)
		b.Attention(att, q, b.View(l.kc, 0, start+n), b.View(l.vc, 0, start+n), m.attn)
		b.MatMul(o, att, l.wo, nil)
		b.Add(h, h, o)
		b.RMSNorm(xn, h, l.ln2, 1e-6)
		b.MatMul(g, xn, l.wg, nil)
		b.MatMul(u, xn, l.wu, nil)
		b.SiLUMul(a, g, u)
		b.MatMul(o, a, l.wd, nil)
		b.Add(h, h, o)
	}
}

func (m *model) prefill(n int) {
	ids := make([]int32, n)
	for i := range ids {
		ids[i] = int32((i*7919 + 13) % m.sh.vocab)
	}
	m.forward(ids, 0)
}

func (m *model) decodeStep(ctx int) {
	m.forward([]int32{int32(ctx % m.sh.vocab)}, ctx)
}

// timeAttention times the attention op alone over one layer's cache: the
// causal prefill over n tokens (TFLOP/s counted as 2·n²·hd·heads) and one
// decode query over n keys (GB/s of K and V read).
func (m *model) timeAttention(n int) (tflops, gbs, us float64) {
	b := m.b
	l := m.layers[0]
	k, v := b.View(l.kc, 0, n), b.View(l.vc, 0, n)
	att, q := b.View(m.att, 0, n), b.View(m.q, 0, n)
	b.Attention(att, q, k, v, m.attn)
	b.Sync()
	const reps = 5
	start := time.Now()
	for i := 0; i < reps; i++ {
		b.Attention(att, q, k, v, m.attn)
	}
	b.Sync()
	sec := time.Since(start).Seconds() / reps
	flops := 2 * float64(n) * float64(n) * float64(m.sh.hd*m.sh.heads)
	tflops = flops / sec / 1e12

	q1, a1 := b.View(m.q, 0, 1), b.View(m.att, 0, 1)
	b.Attention(a1, q1, k, v, m.attn)
	b.Sync()
	const dreps = 200
	start = time.Now()
	for i := 0; i < dreps; i++ {
		b.Attention(a1, q1, k, v, m.attn)
	}
	b.Sync()
	dsec := time.Since(start).Seconds() / dreps
	bytes := 2 * float64(n) * float64(m.sh.kv*m.sh.hd) * 2
	return tflops, bytes / dsec / 1e9, dsec * 1e6
}
