package cuda

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"

	"github.com/sdtp/sdtp/backend"
)

// Attention computes causal grouped-query attention: a split-K kernel for
// one query over the cache (decode), a tensor-core flash-attention kernel
// for head sizes 64 and 128, and a simple kernel for any other head size.
func (b *Backend) Attention(dst, q, k, v backend.Tensor, s backend.AttentionShape) {
	d, qt, kt, vt := asTensor("Attention", dst), asTensor("Attention", q), asTensor("Attention", k), asTensor("Attention", v)
	if s.Heads <= 0 || s.KVHeads <= 0 || s.HeadDim <= 0 || s.Heads%s.KVHeads != 0 ||
		qt.cols != s.Heads*s.HeadDim || kt.cols != s.KVHeads*s.HeadDim || vt.cols != kt.cols ||
		vt.rows != kt.rows || kt.rows < qt.rows || d.rows != qt.rows || d.cols != qt.cols {
		panic(fmt.Sprintf("cuda: Attention: dst %s, q %s, k %s, v %s, shape %+v", d, qt, kt, vt, s))
	}
	b.enter()
	defer b.leave()
	nq, nk := qt.rows, kt.rows
	if nq == 0 || b.err != nil {
		return
	}
	scaleLog2 := s.Scale * float32(math.Log2E)
	hd := s.HeadDim
	switch {
	case nq == 1 && !b.f32 && decodeHeadDim(hd) && aligned16(qt.ptr, kt.ptr, vt.ptr):
		b.attnDecode(d, qt, kt, vt, s, scaleLog2)
	case b.useDNN && b.dnn != nil && nq == nk && nq >= b.dnnMinLen && (hd == 64 || hd == 128) &&
		aligned16(qt.ptr, kt.ptr, vt.ptr, d.ptr) && b.dnnAttention(d, qt, kt, vt, nq, s.Heads, s.KVHeads, hd, s.Scale):
		// cuDNN's fused flash attention took it.
	case b.flash[hd].name != "" && s.Scale > 0 && aligned16(qt.ptr, kt.ptr, vt.ptr, d.ptr):
		fk := b.flash[hd]
		grid := dim3{(nq + fk.rows() - 1) / fk.rows(), s.Heads, 1}
		b.args().ptr(qt.ptr).ptr(kt.ptr).ptr(vt.ptr).ptr(d.ptr).i32(nq).i32(nk).i32(s.Heads).i32(s.KVHeads).f32(scaleLog2).
			launch(fk.name, grid, dim3{128, 1, 1}, fk.smem())
	default:
		grid := dim3{(nq + 3) / 4, s.Heads, 1}
		b.args().ptr(qt.ptr).ptr(kt.ptr).ptr(vt.ptr).ptr(d.ptr).i32(nq).i32(nk).i32(s.Heads).i32(s.KVHeads).i32(hd).f32(scaleLog2).
			launch("attn_generic", grid, dim3{128, 1, 1}, 4*2*hd*4)
	}
}

// decodeKernels names the split-K decode kernel of each head size it has.
var decodeKernels = map[int]string{
	8: "attn_decode_d8", 16: "attn_decode_d16", 32: "attn_decode_d32",
	64: "attn_decode_d64", 128: "attn_decode_d128", 256: "attn_decode_d256",
}

func decodeHeadDim(hd int) bool { return decodeKernels[hd] != "" }

// combineMaxSplits is COMB_MAX_SPLITS, the most splits the combine kernel merges.
const combineMaxSplits = 2048

// decodeKernel is one compiled variant of decode_mma (DECODE_MMA in
// kernels/attention.cu). The default variants also have a batched entry
// point, NAME_batch (DECODE_MMA_BATCH), for BatchAttention; with another
// variant chosen BatchAttention runs Attention per sequence.
type decodeKernel struct {
	name          string
	d, bn, stages int
	dflt          bool
}

var decodeKernels2 = []decodeKernel{
	{"decode_mma_d64", 64, 32, 2, true},
	{"decode_mma_d128", 128, 32, 2, false},
	{"decode_mma_d128_n32_s3", 128, 32, 3, false},
	{"decode_mma_d128_n32_s4", 128, 32, 4, false},
	{"decode_mma_d128_n64_s2", 128, 64, 2, false},
	{"decode_mma_d128_n64_s3", 128, 64, 3, true},
}

// batchName is the variant's batched entry point ("" for none).
func (k decodeKernel) batchName() string {
	if !k.dflt {
		return ""
	}
	return k.name + "_batch"
}

// smem is the variant's dynamic shared memory: a 16-row Q tile and
// `stages` buffers of bn-row K and V tiles.
func (k decodeKernel) smem() int { return (16 + 2*k.stages*k.bn) * (k.d + 8) * 2 }

// perSM is how many one-warp blocks fit in an SM's shared memory (228 KB
// on Hopper, 1 KB of it reserved per block).
func (k decodeKernel) perSM() int { return max(1, min(16, 228*1024/(k.smem()+1024))) }

// decodeMaxG is DEC_MAXG: query heads per block in the decode kernel.
const decodeMaxG = 8

// decodePlan is how the decode kernels split one head group's cache.
type decodePlan struct {
	mma    bool
	dk     decodeKernel
	hg     int // head groups: grid z of one sequence
	target int // blocks that fill the device
}

func (b *Backend) decodePlan(s backend.AttentionShape) decodePlan {
	g := s.Heads / s.KVHeads
	dk, mma := b.decodeMMA[s.HeadDim]
	mma = mma && s.Scale > 0
	p := decodePlan{mma: mma, dk: dk, hg: (g + decodeMaxG - 1) / decodeMaxG, target: 4 * b.sms} // blocks of 4 warps
	if mma {
		p.hg = (g + 15) / 16
		// One-warp blocks, as many resident per SM as shared memory
		// allows: one full wave of long blocks beats two of short ones.
		p.target = dk.perSM() * b.sms
	}
	return p
}

// splits returns the split count and chunk for a cache of nk keys.
func (p decodePlan) splits(nk, kvHeads int) (splits, chunk int) {
	splits = max(1, (p.target+kvHeads*p.hg-1)/(kvHeads*p.hg))
	splits = min(splits, (nk+63)/64, combineMaxSplits)
	chunk = (nk + splits - 1) / splits
	return (nk + chunk - 1) / chunk, chunk
}

// decodeWorkspace returns room for the split partials of heads heads of
// `splits` slots each: the outputs, then the (max, sum) pairs.
func (b *Backend) decodeWorkspace(heads, splits, hd int) (partO, partML uintptr, ok bool) {
	need := int64(heads*splits) * int64(hd+2) * 4
	if need > b.decodeCap {
		if b.decodeWS != 0 {
			b.free(b.decodeWS)
			b.decodeWS, b.decodeCap = 0, 0
		}
		p, err := b.alloc(max(need, 1<<20))
		if err != nil {
			b.fail(err)
			return 0, 0, false
		}
		b.decodeWS, b.decodeCap = p, max(need, 1<<20)
	}
	return b.decodeWS, b.decodeWS + uintptr(heads*splits*hd*4), true
}

// attnDecode runs the split-K decode kernel and the combine kernel.
func (b *Backend) attnDecode(d, q, k, v *tensor, s backend.AttentionShape, scaleLog2 float32) {
	p := b.decodePlan(s)
	splits, chunk := p.splits(k.rows, s.KVHeads)
	partO, partML, ok := b.decodeWorkspace(s.Heads, splits, s.HeadDim)
	if !ok {
		return
	}
	a := b.args().ptr(q.ptr).ptr(k.ptr).ptr(v.ptr).ptr(partO).ptr(partML).i32(k.rows).i32(s.Heads).i32(s.KVHeads).i32(chunk).f32(scaleLog2)
	if p.mma {
		a.launch(p.dk.name, dim3{s.KVHeads, splits, p.hg}, dim3{32, 1, 1}, p.dk.smem())
	} else {
		a.launch(decodeKernels[s.HeadDim], dim3{s.KVHeads, splits, p.hg}, dim3{128, 1, 1}, 0)
	}
	b.args().ptr(d.ptr).ptr(partO).ptr(partML).i32(splits).i32(s.HeadDim).
		launch("attn_decode_combine", dim3{s.Heads, 1, 1}, block256, 0)
}

// decodeSeqBytes is the size of DecodeSeq in kernels/attention.cu.
const decodeSeqBytes = 32

// BatchAttention computes a batched decode step's attention (see
// backend.BatchAttender): where the split-K decode kernels apply (bf16,
// their head sizes, 16-byte aligned operands) one launch of the decode
// kernel and one of the combine kernel serve every sequence, each split
// and merged exactly as attnDecode does it alone, so each row equals its
// own Attention call; otherwise it is one Attention call per sequence.
func (b *Backend) BatchAttention(dst, q backend.Tensor, k, v []backend.Tensor, s backend.AttentionShape) {
	d, qt := asTensor("BatchAttention", dst), asTensor("BatchAttention", q)
	n := len(k)
	if len(v) != n || qt.rows != n || d.rows != n || d.cols != qt.cols || s.Heads <= 0 || s.KVHeads <= 0 || s.HeadDim <= 0 ||
		s.Heads%s.KVHeads != 0 || qt.cols != s.Heads*s.HeadDim {
		panic(fmt.Sprintf("cuda: BatchAttention: dst %s, q %s, %d key and %d value caches, shape %+v", d, qt, len(k), len(v), s))
	}
	ks, vs := make([]*tensor, n), make([]*tensor, n)
	batched := !b.f32 && decodeHeadDim(s.HeadDim) && aligned16(qt.ptr)
	if p := b.decodePlan(s); p.mma && p.dk.batchName() == "" {
		batched = false // a variant chosen for a benchmark, without a batched form
	}
	for i := range k {
		ks[i], vs[i] = asTensor("BatchAttention", k[i]), asTensor("BatchAttention", v[i])
		if ks[i].cols != s.KVHeads*s.HeadDim || vs[i].cols != ks[i].cols || vs[i].rows != ks[i].rows || ks[i].rows < 1 {
			panic(fmt.Sprintf("cuda: BatchAttention: sequence %d: k %s, v %s, shape %+v", i, ks[i], vs[i], s))
		}
		batched = batched && aligned16(ks[i].ptr, vs[i].ptr)
	}
	if !batched {
		for i := range k {
			b.Attention(b.View(dst, i, 1), b.View(q, i, 1), k[i], v[i], s)
		}
		return
	}
	b.enter()
	defer b.leave()
	if n == 0 || b.err != nil {
		return
	}
	p := b.decodePlan(s)
	table := make([]byte, n*decodeSeqBytes)
	stride := 0
	for i := range ks {
		splits, chunk := p.splits(ks[i].rows, s.KVHeads)
		stride = max(stride, splits)
		e := table[i*decodeSeqBytes:]
		binary.LittleEndian.PutUint64(e[0:], uint64(ks[i].ptr))
		binary.LittleEndian.PutUint64(e[8:], uint64(vs[i].ptr))
		binary.LittleEndian.PutUint32(e[16:], uint32(ks[i].rows))
		binary.LittleEndian.PutUint32(e[20:], uint32(chunk))
		binary.LittleEndian.PutUint32(e[24:], uint32(splits))
	}
	seqs, ok := b.decodeTable(len(table))
	if !ok {
		return
	}
	b.upload(seqs, len(table), func(buf []byte, off int) { copy(buf, table[off:]) })
	partO, partML, ok := b.decodeWorkspace(n*s.Heads, stride, s.HeadDim)
	if !ok {
		return
	}
	scaleLog2 := s.Scale * float32(math.Log2E)
	a := b.args().ptr(qt.ptr).ptr(seqs).ptr(partO).ptr(partML).i32(s.Heads).i32(s.KVHeads).i32(p.hg).i32(stride).f32(scaleLog2)
	if p.mma {
		a.launch(p.dk.batchName(), dim3{s.KVHeads, stride, p.hg * n}, dim3{32, 1, 1}, p.dk.smem())
	} else {
		a.launch("attn_decode_batch_d"+strconv.Itoa(s.HeadDim), dim3{s.KVHeads, stride, p.hg * n}, dim3{128, 1, 1}, 0)
	}
	b.args().ptr(d.ptr).ptr(partO).ptr(partML).ptr(seqs).i32(s.Heads).i32(stride).i32(s.HeadDim).
		launch("attn_decode_combine_batch", dim3{s.Heads, n, 1}, block256, 0)
}

// decodeTable returns device room for n bytes of a launch's table (the
// DecodeSeq entries of BatchAttention, the destinations of ScatterRows).
// Kernels queued before may still read the old entries: the upload that
// overwrites them is queued on the same stream, after them.
func (b *Backend) decodeTable(n int) (uintptr, bool) {
	if int64(n) > b.seqsCap {
		if b.seqsBuf != 0 {
			b.free(b.seqsBuf)
			b.seqsBuf, b.seqsCap = 0, 0
		}
		c := max(int64(n), 4096)
		p, err := b.alloc(c)
		if err != nil {
			b.fail(err)
			return 0, false
		}
		b.seqsBuf, b.seqsCap = p, c
	}
	return b.seqsBuf, true
}
