package cuda

import (
	"github.com/sdtp/sdtp/kvcache"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/sdtp/sdtp/backend"
)

// openForTest opens device 0, or skips when no GPU is usable; with
// SDTP_CUDA=1 (set on the GPU machine) a failure to open fails the test.
func openForTest(t *testing.T) *Backend {
	t.Helper()
	return openWith(t, Open)
}

// openWith opens a backend with open (Open or OpenF32), or skips as
// openForTest does.
func openWith(t *testing.T, open func(backend.Options) (*Backend, error)) *Backend {
	t.Helper()
	b, err := open(backend.Options{})
	if err != nil {
		if os.Getenv("SDTP_CUDA") == "1" {
			t.Fatalf("SDTP_CUDA=1 but the cuda backend does not open: %v", err)
		}
		t.Skipf("no usable GPU: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return b
}

// TestOpenReportsMissingGPU checks that opening never panics and, on a
// machine without the driver, says so.
func TestOpenReportsMissingGPU(t *testing.T) {
	b, err := backend.Open("cuda", backend.Options{})
	if err != nil {
		if !strings.Contains(err.Error(), "cuda") {
			t.Errorf("error %q does not name the backend", err)
		}
		t.Logf("open failed as expected without a GPU: %v", err)
		return
	}
	defer b.Close()
	if b.Name() != "cuda" || b.Device() == "" {
		t.Errorf("opened backend has name %q, device %q", b.Name(), b.Device())
	}
	if _, err := backend.Open("cuda", backend.Options{Device: 1 << 20}); err == nil {
		t.Error("opening a device index that cannot exist succeeded")
	}
}

// bf16Round rounds each value to bf16, as uploads do.
func bf16Round(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(backend.BF16ToF32(backend.F32ToBF16(x)))
	}
	return out
}

func randVec(r *rand.Rand, n int, scale float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64() * scale)
	}
	return v
}

// relErr is ‖got − want‖ / ‖want‖; NaN or Inf in got gives +Inf.
func relErr(got []float32, want []float64) float64 {
	var num, den float64
	for i := range want {
		g := float64(got[i])
		if math.IsNaN(g) || math.IsInf(g, 0) {
			return math.Inf(1)
		}
		num += (g - want[i]) * (g - want[i])
		den += want[i] * want[i]
	}
	if den == 0 {
		return math.Sqrt(num)
	}
	return math.Sqrt(num / den)
}

// poisoned returns a rows×cols tensor full of NaN, so unwritten outputs show.
func poisoned(b *Backend, rows, cols int) backend.Tensor {
	v := make([]float32, rows*cols)
	for i := range v {
		v[i] = float32(math.NaN())
	}
	return b.FromHost(v, rows, cols)
}

func download(b *Backend, t backend.Tensor) []float32 {
	out := make([]float32, t.Rows()*t.Cols())
	b.ToHost(out, t)
	return out
}

const bf16Tol = 1e-2

func TestRandomWeightMatchesCPU(t *testing.T) {
	b := openForTest(t)
	const rows, cols = 37, 129
	for _, dt := range []backend.DType{backend.BF16, backend.F32} {
		w, err := b.RandomWeight(dt, rows, cols, 12345, 0.02)
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]int32, rows)
		for i := range ids {
			ids[i] = int32(i)
		}
		iv := b.Ints(ids)
		out := poisoned(b, rows, cols)
		b.Embed(out, w, iv)
		got := download(b, out)
		for i, g := range got {
			want := backend.BF16ToF32(backend.F32ToBF16(backend.RandomValue(12345, uint64(i)) * 0.02))
			if g != want {
				t.Fatalf("%v element %d: got %v, want %v", dt, i, g, want)
			}
		}
	}
	if err := b.Sync(); err != nil {
		t.Fatal(err)
	}
}

func TestWeightUploadAndEmbed(t *testing.T) {
	b := openForTest(t)
	r := rand.New(rand.NewPCG(1, 2))
	const rows, cols = 50, 24
	vals := randVec(r, rows*cols, 1)
	for _, dt := range []backend.DType{backend.F32, backend.BF16, backend.F16} {
		data := make([]byte, rows*cols*dt.Size())
		want := make([]float32, len(vals))
		for i, x := range vals {
			switch dt {
			case backend.F32:
				u := math.Float32bits(x)
				data[4*i], data[4*i+1], data[4*i+2], data[4*i+3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
				want[i] = backend.BF16ToF32(backend.F32ToBF16(x))
			case backend.BF16:
				u := backend.F32ToBF16(x)
				data[2*i], data[2*i+1] = byte(u), byte(u>>8)
				want[i] = backend.BF16ToF32(u)
			case backend.F16:
				u := backend.F32ToF16(x)
				data[2*i], data[2*i+1] = byte(u), byte(u>>8)
				want[i] = backend.BF16ToF32(backend.F32ToBF16(backend.F16ToF32(u)))
			}
		}
		w, err := b.NewWeight(dt, rows, cols, data)
		if err != nil {
			t.Fatal(err)
		}
		if w.DType() != dt {
			t.Errorf("DType %v, want %v", w.DType(), dt)
		}
		ids := []int32{3, 0, 49, 3, 17}
		out := poisoned(b, len(ids), cols)
		b.Embed(out, w, b.Ints(ids))
		got := download(b, out)
		for i, id := range ids {
			for c := 0; c < cols; c++ {
				if g, w := got[i*cols+c], want[int(id)*cols+c]; g != w {
					t.Fatalf("%v row %d col %d: got %v want %v", dt, id, c, g, w)
				}
			}
		}
		b.FreeWeight(w)
	}
	if _, err := b.NewWeight(backend.BF16, 2, 2, make([]byte, 3)); err == nil {
		t.Error("NewWeight accepted a short buffer")
	}
}

func TestMatMul(t *testing.T) {
	b := openForTest(t)
	r := rand.New(rand.NewPCG(3, 4))
	for _, sz := range []struct {
		n, k, m int
		gemv    bool
	}{{1, 64, 96, true}, {1, 64, 96, false}, {1, 3584, 1000, true}, {1, 18944, 77, true}, {7, 33, 17, true}, {130, 256, 200, true}} {
		b.useGEMV = sz.gemv
		xv, wv, bv := randVec(r, sz.n*sz.k, 1), randVec(r, sz.m*sz.k, 0.1), randVec(r, sz.m, 1)
		x := b.FromHost(xv, sz.n, sz.k)
		w := uploadBF16(t, b, wv, sz.m, sz.k)
		bias := uploadBF16(t, b, bv, 1, sz.m)
		dst := poisoned(b, sz.n, sz.m)
		b.MatMul(dst, x, w, bias)
		xr, wr, br := bf16Round(xv), bf16Round(wv), bf16Round(bv)
		want := make([]float64, sz.n*sz.m)
		for i := 0; i < sz.n; i++ {
			for j := 0; j < sz.m; j++ {
				s := br[j]
				for c := 0; c < sz.k; c++ {
					s += xr[i*sz.k+c] * wr[j*sz.k+c]
				}
				want[i*sz.m+j] = s
			}
		}
		if e := relErr(download(b, dst), want); e > bf16Tol {
			t.Errorf("MatMul %+v: relative error %.3g", sz, e)
		}
	}
}

func uploadBF16(t *testing.T, b *Backend, v []float32, rows, cols int) backend.Weight {
	t.Helper()
	data := make([]byte, 2*len(v))
	for i, x := range v {
		u := backend.F32ToBF16(x)
		data[2*i], data[2*i+1] = byte(u), byte(u>>8)
	}
	w, err := b.NewWeight(backend.BF16, rows, cols, data)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestElementwise(t *testing.T) {
	b := openForTest(t)
	r := rand.New(rand.NewPCG(5, 6))
	for _, shape := range [][2]int{{1, 8}, {3, 5}, {17, 3584}} {
		rows, cols := shape[0], shape[1]
		n := rows * cols
		av, bv := randVec(r, n, 2), randVec(r, n, 2)
		ar, br := bf16Round(av), bf16Round(bv)
		a, c := b.FromHost(av, rows, cols), b.FromHost(bv, rows, cols)
		check := func(name string, dst backend.Tensor, f func(i int) float64) {
			t.Helper()
			want := make([]float64, n)
			for i := range want {
				want[i] = f(i)
			}
			if e := relErr(download(b, dst), want); e > bf16Tol {
				t.Errorf("%s %dx%d: relative error %.3g", name, rows, cols, e)
			}
		}
		d := poisoned(b, rows, cols)
		b.SiLUMul(d, a, c)
		check("SiLUMul", d, func(i int) float64 { return ar[i] / (1 + math.Exp(-ar[i])) * br[i] })
		d = poisoned(b, rows, cols)
		b.GELU(d, a)
		check("GELU", d, func(i int) float64 { return 0.5 * ar[i] * (1 + math.Erf(ar[i]/math.Sqrt2)) })
		d = poisoned(b, rows, cols)
		b.Copy(d, a)
		check("Copy", d, func(i int) float64 { return ar[i] })
		b.Add(d, d, c) // in place
		check("Add", d, func(i int) float64 { return ar[i] + br[i] })

		wv := randVec(r, cols, 1)
		wr := bf16Round(wv)
		w := uploadBF16(t, b, wv, 1, cols)
		d = poisoned(b, rows, cols)
		b.RMSNorm(d, a, w, 1e-6)
		check("RMSNorm", d, func(i int) float64 {
			row := i / cols
			var ss float64
			for c := 0; c < cols; c++ {
				ss += ar[row*cols+c] * ar[row*cols+c]
			}
			return ar[i] / math.Sqrt(ss/float64(cols)+1e-6) * wr[i%cols]
		})
		idx := make([]int32, rows+2)
		for i := range idx {
			idx[i] = int32(r.IntN(rows))
		}
		g := poisoned(b, len(idx), cols)
		b.Gather(g, a, b.Ints(idx))
		want := make([]float64, len(idx)*cols)
		for i, id := range idx {
			copy(want[i*cols:], ar[int(id)*cols:int(id+1)*cols])
		}
		if e := relErr(download(b, g), want); e != 0 {
			t.Errorf("Gather: relative error %.3g", e)
		}
		// Copy into a view of a larger tensor.
		big := poisoned(b, rows+2, cols)
		b.Copy(b.View(big, 1, rows), a)
		got := download(b, big)
		if e := relErr(got[cols:(rows+1)*cols], ar); e != 0 {
			t.Errorf("Copy into view: relative error %.3g", e)
		}
	}
	if err := b.Sync(); err != nil {
		t.Fatal(err)
	}
}

func TestRoPE(t *testing.T) {
	b := openForTest(t)
	r := rand.New(rand.NewPCG(7, 8))
	const rows, heads, hd = 9, 3, 16
	xv := randVec(r, rows*heads*hd, 1)
	xr := bf16Round(xv)
	pos := make([]int32, rows)
	for i := range pos {
		pos[i] = int32(r.IntN(40000))
	}
	inv := make([]float32, hd/2)
	for j := range inv {
		inv[j] = float32(math.Pow(10000, -2*float64(j)/hd))
	}
	x := b.FromHost(xv, rows, heads*hd)
	b.RoPE(x, b.Ints(pos), heads, hd, inv)
	want := make([]float64, len(xr))
	for i := 0; i < rows; i++ {
		for h := 0; h < heads; h++ {
			base := i*heads*hd + h*hd
			for j := 0; j < hd/2; j++ {
				i0, i1 := base+j, base+j+hd/2
				ang := float64(float32(pos[i]) * inv[j])
				s, c := math.Sincos(ang)
				want[i0] = xr[i0]*c - xr[i1]*s
				want[i1] = xr[i0]*s + xr[i1]*c
			}
		}
	}
	if e := relErr(download(b, x), want); e > bf16Tol {
		t.Errorf("RoPE: relative error %.3g", e)
	}
}

// refAttention is causal GQA attention in float64.
func refAttention(q, k, v []float64, nq, nk int, s backend.AttentionShape) []float64 {
	hd := s.HeadDim
	out := make([]float64, nq*s.Heads*hd)
	g := s.Heads / s.KVHeads
	for i := 0; i < nq; i++ {
		last := nk - nq + i
		for h := 0; h < s.Heads; h++ {
			kh := h / g
			qi := q[(i*s.Heads+h)*hd : (i*s.Heads+h+1)*hd]
			scores := make([]float64, last+1)
			m := math.Inf(-1)
			for j := 0; j <= last; j++ {
				kj := k[(j*s.KVHeads+kh)*hd : (j*s.KVHeads+kh+1)*hd]
				var d float64
				for c := range qi {
					d += qi[c] * kj[c]
				}
				scores[j] = d * float64(s.Scale)
				m = math.Max(m, scores[j])
			}
			var sum float64
			for j := range scores {
				scores[j] = math.Exp(scores[j] - m)
				sum += scores[j]
			}
			o := out[(i*s.Heads+h)*hd : (i*s.Heads+h+1)*hd]
			for j, p := range scores {
				vj := v[(j*s.KVHeads+kh)*hd : (j*s.KVHeads+kh+1)*hd]
				for c := range o {
					o[c] += p / sum * vj[c]
				}
			}
		}
	}
	return out
}

func TestAttention(t *testing.T) {
	b := openForTest(t)
	r := rand.New(rand.NewPCG(9, 10))
	cases := []struct {
		name          string
		nq, nk        int
		heads, kv, hd int
	}{
		{"flash128 prefill", 200, 200, 4, 2, 128},
		{"flash128 long", 1030, 1030, 2, 1, 128},
		{"flash64 offset", 77, 300, 6, 3, 64},
		{"flash128 few queries", 3, 129, 7, 1, 128},
		{"flash128 chunk", 130, 700, 4, 1, 128},
		{"flash64 long", 600, 600, 2, 2, 64},
		{"prefill qwen7b", 384, 384, 28, 4, 128},
		{"decode128 gqa7", 1, 1000, 28, 4, 128},
		{"decode64", 1, 5, 14, 2, 64},
		{"decode128 mqa", 1, 300, 12, 1, 128},
		{"decode128 mqa20", 1, 4100, 20, 1, 128},
		{"decode64 long", 1, 9000, 8, 1, 64},
		{"decode8", 1, 77, 4, 4, 8},
		{"generic48", 19, 40, 6, 6, 48},
		{"generic48 decode", 1, 40, 6, 2, 48},
	}
	defaults := maps.Clone(b.flash)
	decDefaults := maps.Clone(b.decodeMMA)
	defer func() { b.flash, b.useDNN, b.decodeMMA, b.dnnMinLen = defaults, true, decDefaults, dnnDefaultMinLen }()
	if b.dnn == nil {
		t.Logf("cuDNN path off: %v", b.dnnErr)
	}
	for _, c := range cases {
		// Every kernel that can take the case: each flash variant (cuDNN
		// off), cuDNN, and both decode kernels.
		type variant struct {
			name string
			fk   flashKernel
			dnn  bool
			dk   decodeKernel // empty: the SIMT decode kernel
		}
		var variants []variant
		for _, k := range flashKernels {
			if k.d == c.hd && c.nq > 1 {
				variants = append(variants, variant{k.name, k, false, decDefaults[c.hd]})
			}
		}
		if c.nq > 1 && c.nq == c.nk && b.dnn != nil {
			variants = append(variants, variant{"cudnn", defaults[c.hd], true, decDefaults[c.hd]})
		}
		if c.nq == 1 {
			for _, k := range decodeKernels2 {
				if k.d == c.hd {
					variants = append(variants, variant{k.name, defaults[c.hd], false, k})
				}
			}
			variants = append(variants, variant{"decode simt", defaults[c.hd], false, decodeKernel{}})
		}
		if len(variants) == 0 {
			variants = append(variants, variant{"default", defaults[c.hd], false, decDefaults[c.hd]})
		}
		for _, v := range variants {
			if v.fk.name != "" {
				b.flash[c.hd] = v.fk
			}
			b.decodeMMA = map[int]decodeKernel{}
			if v.dk.name != "" {
				b.decodeMMA[c.hd] = v.dk
			}
			b.useDNN, b.dnnMinLen = v.dnn, 1
			b.dnnErr = nil
			attentionCase(t, b, r, c.name+" "+v.name, c.nq, c.nk, c.heads, c.kv, c.hd)
			if v.dnn && b.dnnErr != nil {
				t.Logf("%s: cuDNN declined, own kernel ran: %v", c.name, b.dnnErr)
			}
		}
		b.flash[c.hd] = defaults[c.hd]
	}
	if err := b.Sync(); err != nil {
		t.Fatal(err)
	}
	used, peak := b.Memory()
	if used <= 0 || peak < used {
		t.Errorf("Memory() = %d, %d", used, peak)
	}
}

func attentionCase(t *testing.T, b *Backend, r *rand.Rand, name string, nq, nk, heads, kv, hd int) {
	c := struct{ nq, nk, heads, kv, hd int }{nq, nk, heads, kv, hd}
	{
		s := backend.AttentionShape{Heads: c.heads, KVHeads: c.kv, HeadDim: c.hd, Scale: float32(1 / math.Sqrt(float64(c.hd)))}
		qv := randVec(r, c.nq*c.heads*c.hd, 1)
		kv := randVec(r, c.nk*c.kv*c.hd, 1)
		vv := randVec(r, c.nk*c.kv*c.hd, 1)
		q, k, v := b.FromHost(qv, c.nq, c.heads*c.hd), b.FromHost(kv, c.nk, c.kv*c.hd), b.FromHost(vv, c.nk, c.kv*c.hd)
		dst := poisoned(b, c.nq, c.heads*c.hd)
		b.Attention(dst, q, k, v, s)
		want := refAttention(bf16Round(qv), bf16Round(kv), bf16Round(vv), c.nq, c.nk, s)
		if e := relErr(download(b, dst), want); e > bf16Tol {
			t.Errorf("%s: relative error %.3g", name, e)
		}
		for _, x := range []backend.Tensor{q, k, v, dst} {
			b.Free(x)
		}
	}
}

// The KV cache sizes its bytes by the backend's activation element.
var _ kvcache.ActivationSizer = (*Backend)(nil)
