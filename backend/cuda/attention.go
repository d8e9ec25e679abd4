package cuda

import (
	"fmt"
	"math"

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
// kernels/attention.cu).
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

// smem is the variant's dynamic shared memory: a 16-row Q tile and
// `stages` buffers of bn-row K and V tiles.
func (k decodeKernel) smem() int { return (16 + 2*k.stages*k.bn) * (k.d + 8) * 2 }

// perSM is how many one-warp blocks fit in an SM's shared memory (228 KB
// on Hopper, 1 KB of it reserved per block).
func (k decodeKernel) perSM() int { return max(1, min(16, 228*1024/(k.smem()+1024))) }

// decodeMaxG is DEC_MAXG: query heads per block in the decode kernel.
const decodeMaxG = 8

// attnDecode runs the split-K decode kernel and the combine kernel.
func (b *Backend) attnDecode(d, q, k, v *tensor, s backend.AttentionShape, scaleLog2 float32) {
	nk := k.rows
	g := s.Heads / s.KVHeads
	dk, mma := b.decodeMMA[s.HeadDim]
	mma = mma && s.Scale > 0
	hg := (g + decodeMaxG - 1) / decodeMaxG
	target := 4 * b.sms // blocks of 4 warps
	if mma {
		hg = (g + 15) / 16
		// One-warp blocks, as many resident per SM as shared memory
		// allows: one full wave of long blocks beats two of short ones.
		target = dk.perSM() * b.sms
	}
	splits := max(1, (target+s.KVHeads*hg-1)/(s.KVHeads*hg))
	splits = min(splits, (nk+63)/64, combineMaxSplits)
	chunk := (nk + splits - 1) / splits
	splits = (nk + chunk - 1) / chunk

	need := int64(s.Heads*splits) * int64(s.HeadDim+2) * 4
	if need > b.decodeCap {
		if b.decodeWS != 0 {
			b.free(b.decodeWS)
			b.decodeWS, b.decodeCap = 0, 0
		}
		p, err := b.alloc(max(need, 1<<20))
		if err != nil {
			b.fail(err)
			return
		}
		b.decodeWS, b.decodeCap = p, max(need, 1<<20)
	}
	partO := b.decodeWS
	partML := partO + uintptr(s.Heads*splits*s.HeadDim*4)
	a := b.args().ptr(q.ptr).ptr(k.ptr).ptr(v.ptr).ptr(partO).ptr(partML).i32(nk).i32(s.Heads).i32(s.KVHeads).i32(chunk).f32(scaleLog2)
	if mma {
		a.launch(dk.name, dim3{s.KVHeads, splits, hg}, dim3{32, 1, 1}, dk.smem())
	} else {
		a.launch(decodeKernels[s.HeadDim], dim3{s.KVHeads, splits, hg}, dim3{128, 1, 1}, 0)
	}
	b.args().ptr(d.ptr).ptr(partO).ptr(partML).i32(splits).i32(s.HeadDim).
		launch("attn_decode_combine", dim3{s.Heads, 1, 1}, block256, 0)
}
