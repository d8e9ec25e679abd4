package cuda

import (
	"errors"
	"fmt"
	"math"
	"unsafe"
)

// cuDNN's fused flash attention (Hopper kernels, about twice an FA2-class
// kernel at long lengths) is an optional fast path for causal prefill
// (nq == nk): the backend builds the operation graph that cuDNN's engine
// heuristics map to it (Q·Kᵀ, scale, causal mask, softmax with stats,
// P·V) through the backend descriptor API of libcudnn.so.9, and caches one
// execution plan per shape. Without cuDNN, or when a plan cannot be built,
// the backend's own flash kernel runs.

// cuDNN backend API constants (cudnn_graph.h, cuDNN 9).
const (
	dnnDescPointwise       = 0
	dnnDescEngineCfg       = 3
	dnnDescEngineHeur      = 4
	dnnDescExecutionPlan   = 5
	dnnDescOpPointwise     = 13
	dnnDescOperationGraph  = 15
	dnnDescVariantPack     = 16
	dnnDescTensor          = 17
	dnnDescMatmul          = 18
	dnnDescOpMatmul        = 19
	dnnDescReduction       = 21
	dnnDescOpReduction     = 22
	dnnTypeHandle          = 0
	dnnTypeDataType        = 1
	dnnTypeBoolean         = 2
	dnnTypeInt64           = 3
	dnnTypeVoidPtr         = 6
	dnnTypeHeurMode        = 8
	dnnTypePointwiseMode   = 14
	dnnTypeBackendDesc     = 15
	dnnTypeReductionOp     = 18
	dnnDataFloat           = 0
	dnnDataInt32           = 4
	dnnDataBF16            = 9
	dnnDataBoolean         = 11
	dnnPwAdd               = 0
	dnnPwMul               = 1
	dnnPwDiv               = 6
	dnnPwSub               = 9
	dnnPwExp               = 13
	dnnPwLog               = 15
	dnnPwCmpGE             = 303
	dnnPwGenIndex          = 501
	dnnPwBinarySelect      = 601
	dnnReduceAdd           = 0
	dnnReduceMax           = 3
	dnnHeurModeA           = 3
	dnnAttrPwMode          = 0
	dnnAttrPwMathPrec      = 1
	dnnAttrPwAxis          = 9
	dnnAttrHeurMode        = 200
	dnnAttrHeurGraph       = 201
	dnnAttrHeurResults     = 202
	dnnAttrPlanHandle      = 400
	dnnAttrPlanEngineCfg   = 401
	dnnAttrPlanWorkspace   = 402
	dnnAttrOpPwDesc        = 750
	dnnAttrOpPwX           = 751
	dnnAttrOpPwB           = 752
	dnnAttrOpPwY           = 753
	dnnAttrOpPwT           = 758
	dnnAttrGraphHandle     = 800
	dnnAttrGraphOps        = 801
	dnnAttrTensorAlign     = 900
	dnnAttrTensorDataType  = 901
	dnnAttrTensorDims      = 902
	dnnAttrTensorStrides   = 903
	dnnAttrTensorUID       = 906
	dnnAttrTensorVirtual   = 907
	dnnAttrTensorByValue   = 908
	dnnAttrVPUIDs          = 1000
	dnnAttrVPPointers      = 1001
	dnnAttrVPWorkspace     = 1003
	dnnAttrMatmulCompType  = 1500
	dnnAttrOpMatmulA       = 1520
	dnnAttrOpMatmulB       = 1521
	dnnAttrOpMatmulC       = 1522
	dnnAttrOpMatmulDesc    = 1523
	dnnAttrReductionOp     = 1600
	dnnAttrReductionComp   = 1601
	dnnAttrOpReductionX    = 1610
	dnnAttrOpReductionY    = 1611
	dnnAttrOpReductionDesc = 1612
)

// cudnn holds the libcudnn entry points the backend uses.
type cudnn struct {
	name              string
	cudnnGetVersion   func() uint64
	cudnnCreate       func(h *uintptr) int32
	cudnnDestroy      func(h uintptr) int32
	cudnnSetStream    func(h, s uintptr) int32
	cudnnGetErrorStr  func(status int32) string
	cudnnGetLastError func(msg *byte, n uint64)
	create            func(typ int32, desc *uintptr) int32
	destroy           func(desc uintptr) int32
	finalize          func(desc uintptr) int32
	setAttr           func(desc uintptr, name, typ int32, count int64, arr unsafe.Pointer) int32
	getAttr           func(desc uintptr, name, typ int32, requested int64, count *int64, arr unsafe.Pointer) int32
	execute           func(h, plan, vp uintptr) int32
}

func openCudnn() (*cudnn, error) {
	lib, name, err := openLib("libcudnn.so.9", "libcudnn.so")
	if err != nil {
		return nil, err
	}
	c := &cudnn{name: name}
	err = bind(lib, name, []symbol{
		{"cudnnGetVersion", &c.cudnnGetVersion},
		{"cudnnCreate", &c.cudnnCreate},
		{"cudnnDestroy", &c.cudnnDestroy},
		{"cudnnSetStream", &c.cudnnSetStream},
		{"cudnnGetErrorString", &c.cudnnGetErrorStr},
		{"cudnnGetLastErrorString", &c.cudnnGetLastError},
		{"cudnnBackendCreateDescriptor", &c.create},
		{"cudnnBackendDestroyDescriptor", &c.destroy},
		{"cudnnBackendFinalize", &c.finalize},
		{"cudnnBackendSetAttribute", &c.setAttr},
		{"cudnnBackendGetAttribute", &c.getAttr},
		{"cudnnBackendExecute", &c.execute},
	})
	if err != nil {
		return nil, err
	}
	if v := c.cudnnGetVersion(); v < 90000 {
		return nil, fmt.Errorf("%s is version %d; the fused attention path needs cuDNN 9", name, v)
	}
	return c, nil
}

// status turns a cuDNN status into an error with cuDNN's last message.
func (c *cudnn) status(what string, st int32) error {
	if st == 0 {
		return nil
	}
	var msg [512]byte
	c.cudnnGetLastError(&msg[0], uint64(len(msg)))
	return fmt.Errorf("cuDNN %s: %s (%d): %s", what, c.cudnnGetErrorStr(st), st, goString(&msg[0]))
}

// graphBuilder creates descriptors, remembering them for destruction, and
// keeps the first error so building reads straight through.
type graphBuilder struct {
	c     *cudnn
	descs []uintptr
	err   error
}

func (g *graphBuilder) fail(what string, st int32) {
	if st != 0 && g.err == nil {
		g.err = g.c.status(what, st)
	}
}

func (g *graphBuilder) desc(typ int32) uintptr {
	var d uintptr
	if g.err != nil {
		return 0
	}
	g.fail(fmt.Sprintf("create descriptor %d", typ), g.c.create(typ, &d))
	if d != 0 {
		g.descs = append(g.descs, d)
	}
	return d
}

func (g *graphBuilder) set(d uintptr, name, typ int32, vals unsafe.Pointer, n int) {
	if g.err != nil {
		return
	}
	g.fail(fmt.Sprintf("set attribute %d", name), g.c.setAttr(d, name, typ, int64(n), vals))
}

func (g *graphBuilder) i64(d uintptr, name int32, v ...int64) {
	g.set(d, name, dnnTypeInt64, unsafe.Pointer(&v[0]), len(v))
}

func (g *graphBuilder) enum(d uintptr, name, typ int32, v int32) {
	g.set(d, name, typ, unsafe.Pointer(&v), 1)
}

func (g *graphBuilder) boolean(d uintptr, name int32, v bool) {
	b := byte(0)
	if v {
		b = 1
	}
	g.set(d, name, dnnTypeBoolean, unsafe.Pointer(&b), 1)
}

func (g *graphBuilder) ref(d uintptr, name int32, ds ...uintptr) {
	g.set(d, name, dnnTypeBackendDesc, unsafe.Pointer(&ds[0]), len(ds))
}

func (g *graphBuilder) done(d uintptr, what string) uintptr {
	if g.err == nil {
		g.fail("finalize "+what, g.c.finalize(d))
	}
	return d
}

// tensor makes a tensor descriptor; virtual tensors live only inside the
// fused kernel, by-value ones are host scalars passed at execution.
func (g *graphBuilder) tensor(uid int64, dt int32, dims, strides []int64, virtual, byValue bool) uintptr {
	d := g.desc(dnnDescTensor)
	g.i64(d, dnnAttrTensorUID, uid)
	g.enum(d, dnnAttrTensorDataType, dnnTypeDataType, dt)
	g.i64(d, dnnAttrTensorDims, dims...)
	g.i64(d, dnnAttrTensorStrides, strides...)
	g.i64(d, dnnAttrTensorAlign, 16)
	g.boolean(d, dnnAttrTensorVirtual, virtual)
	if byValue {
		g.boolean(d, dnnAttrTensorByValue, true)
	}
	return g.done(d, "tensor")
}

// pointwise adds y = op(x[, b[, t]]) with compute type prec.
func (g *graphBuilder) pointwise(mode, prec int32, axis int64, x, b, t, y uintptr) uintptr {
	pw := g.desc(dnnDescPointwise)
	g.enum(pw, dnnAttrPwMode, dnnTypePointwiseMode, mode)
	g.enum(pw, dnnAttrPwMathPrec, dnnTypeDataType, prec)
	if axis >= 0 {
		g.i64(pw, dnnAttrPwAxis, axis)
	}
	g.done(pw, "pointwise")
	op := g.desc(dnnDescOpPointwise)
	g.ref(op, dnnAttrOpPwDesc, pw)
	g.ref(op, dnnAttrOpPwX, x)
	if b != 0 {
		g.ref(op, dnnAttrOpPwB, b)
	}
	if t != 0 {
		g.ref(op, dnnAttrOpPwT, t)
	}
	g.ref(op, dnnAttrOpPwY, y)
	return g.done(op, fmt.Sprintf("pointwise op %d", mode))
}

func (g *graphBuilder) reduction(mode int32, x, y uintptr) uintptr {
	r := g.desc(dnnDescReduction)
	g.enum(r, dnnAttrReductionOp, dnnTypeReductionOp, mode)
	g.enum(r, dnnAttrReductionComp, dnnTypeDataType, dnnDataFloat)
	g.done(r, "reduction")
	op := g.desc(dnnDescOpReduction)
	g.ref(op, dnnAttrOpReductionDesc, r)
	g.ref(op, dnnAttrOpReductionX, x)
	g.ref(op, dnnAttrOpReductionY, y)
	return g.done(op, "reduction op")
}

func (g *graphBuilder) matmul(a, b, c uintptr) uintptr {
	m := g.desc(dnnDescMatmul)
	g.enum(m, dnnAttrMatmulCompType, dnnTypeDataType, dnnDataFloat)
	g.done(m, "matmul")
	op := g.desc(dnnDescOpMatmul)
	g.ref(op, dnnAttrOpMatmulA, a)
	g.ref(op, dnnAttrOpMatmulB, b)
	g.ref(op, dnnAttrOpMatmulC, c)
	g.ref(op, dnnAttrOpMatmulDesc, m)
	return g.done(op, "matmul op")
}

func (g *graphBuilder) destroy() {
	for i := len(g.descs) - 1; i >= 0; i-- {
		g.c.destroy(g.descs[i])
	}
	g.descs = nil
}

// Tensor UIDs of the attention graph's inputs and outputs.
const (
	uidQ = iota + 1
	uidK
	uidV
	uidO
	uidScale
	uidLowest
)

// dnnKey identifies one attention plan.
type dnnKey struct {
	n, heads, kvHeads, hd int
	scale                 float32
}

// dnnPlan is a finalized cuDNN execution plan and what it keeps alive.
type dnnPlan struct {
	g         *graphBuilder
	plan      uintptr
	workspace int64
}

// buildAttentionPlan builds the causal SDPA graph for q (n×H·D), k, v
// (n×KVH·D) and o, row-major, as cuDNN's [batch, head, seq, dim] tensors
// with strides, and finalizes the first engine configuration the
// heuristics offer that accepts it.
func (b *Backend) buildAttentionPlan(k dnnKey) (*dnnPlan, error) {
	c := b.dnn
	g := &graphBuilder{c: c}
	n, h, kvh, d := int64(k.n), int64(k.heads), int64(k.kvHeads), int64(k.hd)
	qStrides := []int64{n * h * d, d, h * d, 1}
	kvStrides := []int64{n * kvh * d, d, kvh * d, 1}
	scalar := []int64{1, 1, 1, 1}
	sDims := []int64{1, h, n, n}
	sStrides := []int64{h * n * n, n * n, n, 1}
	rDims := []int64{1, h, n, 1}
	rStrides := []int64{h * n, n, 1, 1}

	uid := int64(100)
	virt := func(dt int32, dims, strides []int64) uintptr {
		uid++
		return g.tensor(uid, dt, dims, strides, true, false)
	}
	tq := g.tensor(uidQ, dnnDataBF16, []int64{1, h, n, d}, qStrides, false, false)
	// Kᵀ: the same memory read as [1, KVH, D, n].
	tk := g.tensor(uidK, dnnDataBF16, []int64{1, kvh, d, n}, []int64{n * kvh * d, d, 1, kvh * d}, false, false)
	tv := g.tensor(uidV, dnnDataBF16, []int64{1, kvh, n, d}, kvStrides, false, false)
	to := g.tensor(uidO, dnnDataBF16, []int64{1, h, n, d}, qStrides, false, false)
	tScale := g.tensor(uidScale, dnnDataFloat, scalar, scalar, false, true)
	tLowest := g.tensor(uidLowest, dnnDataFloat, scalar, scalar, false, true)

	var ops []uintptr
	s := virt(dnnDataFloat, sDims, sStrides)
	ops = append(ops, g.matmul(tq, tk, s))
	s2 := virt(dnnDataFloat, sDims, sStrides)
	ops = append(ops, g.pointwise(dnnPwMul, dnnDataFloat, -1, s, tScale, 0, s2))
	row := virt(dnnDataInt32, sDims, sStrides)
	ops = append(ops, g.pointwise(dnnPwGenIndex, dnnDataInt32, 2, s2, 0, 0, row))
	col := virt(dnnDataInt32, sDims, sStrides)
	ops = append(ops, g.pointwise(dnnPwGenIndex, dnnDataInt32, 3, s2, 0, 0, col))
	mask := virt(dnnDataBoolean, sDims, sStrides)
	ops = append(ops, g.pointwise(dnnPwCmpGE, dnnDataBoolean, -1, row, col, 0, mask))
	s3 := virt(dnnDataFloat, sDims, sStrides)
	ops = append(ops, g.pointwise(dnnPwBinarySelect, dnnDataFloat, -1, s2, tLowest, mask, s3))
	mx := virt(dnnDataFloat, rDims, rStrides)
	ops = append(ops, g.reduction(dnnReduceMax, s3, mx))
	sub := virt(dnnDataFloat, sDims, sStrides)
	ops = append(ops, g.pointwise(dnnPwSub, dnnDataFloat, -1, s3, mx, 0, sub))
	ex := virt(dnnDataFloat, sDims, sStrides)
	ops = append(ops, g.pointwise(dnnPwExp, dnnDataFloat, -1, sub, 0, 0, ex))
	sum := virt(dnnDataFloat, rDims, rStrides)
	ops = append(ops, g.reduction(dnnReduceAdd, ex, sum))
	lg := virt(dnnDataFloat, rDims, rStrides)
	ops = append(ops, g.pointwise(dnnPwLog, dnnDataFloat, -1, sum, 0, 0, lg))
	stats := virt(dnnDataFloat, rDims, rStrides)
	ops = append(ops, g.pointwise(dnnPwAdd, dnnDataFloat, -1, mx, lg, 0, stats))
	p := virt(dnnDataBF16, sDims, sStrides)
	ops = append(ops, g.pointwise(dnnPwDiv, dnnDataFloat, -1, ex, sum, 0, p))
	ops = append(ops, g.matmul(p, tv, to))

	graph := g.desc(dnnDescOperationGraph)
	g.set(graph, dnnAttrGraphHandle, dnnTypeHandle, unsafe.Pointer(&b.dnnHandle), 1)
	g.ref(graph, dnnAttrGraphOps, ops...)
	g.done(graph, "operation graph")

	heur := g.desc(dnnDescEngineHeur)
	g.ref(heur, dnnAttrHeurGraph, graph)
	g.enum(heur, dnnAttrHeurMode, dnnTypeHeurMode, dnnHeurModeA)
	g.done(heur, "heuristics")
	if g.err != nil {
		g.destroy()
		return nil, g.err
	}
	const maxCfgs = 8
	cfgs := make([]uintptr, maxCfgs)
	for i := range cfgs {
		cfgs[i] = g.desc(dnnDescEngineCfg)
	}
	var count int64
	g.fail("heuristic results", c.getAttr(heur, dnnAttrHeurResults, dnnTypeBackendDesc, maxCfgs, &count, unsafe.Pointer(&cfgs[0])))
	if g.err == nil && count == 0 {
		g.err = errors.New("cuDNN heuristics offer no engine for the attention graph")
	}
	if g.err != nil {
		g.destroy()
		return nil, g.err
	}
	var errs []error
	for i := 0; i < int(count); i++ {
		var plan uintptr
		if st := c.create(dnnDescExecutionPlan, &plan); st != 0 {
			errs = append(errs, c.status("create plan", st))
			continue
		}
		st := c.setAttr(plan, dnnAttrPlanHandle, dnnTypeHandle, 1, unsafe.Pointer(&b.dnnHandle))
		if st == 0 {
			st = c.setAttr(plan, dnnAttrPlanEngineCfg, dnnTypeBackendDesc, 1, unsafe.Pointer(&cfgs[i]))
		}
		if st == 0 {
			st = c.finalize(plan)
		}
		if st != 0 {
			errs = append(errs, c.status(fmt.Sprintf("finalize plan %d", i), st))
			c.destroy(plan)
			continue
		}
		var ws, got int64
		c.getAttr(plan, dnnAttrPlanWorkspace, dnnTypeInt64, 1, &got, unsafe.Pointer(&ws))
		g.descs = append(g.descs, plan)
		return &dnnPlan{g: g, plan: plan, workspace: ws}, nil
	}
	g.destroy()
	return nil, errors.Join(errs...)
}

// dnnAttention runs causal prefill attention through cuDNN; it returns
// false (and queues nothing) when cuDNN cannot take the shape.
func (b *Backend) dnnAttention(d, q, k, v *tensor, n, heads, kvHeads, hd int, scale float32) bool {
	key := dnnKey{n, heads, kvHeads, hd, scale}
	plan, ok := b.dnnPlans[key]
	if !ok {
		var err error
		plan, err = b.buildAttentionPlan(key)
		if err != nil {
			b.dnnErr = err
			plan = nil
		}
		b.dnnPlans[key] = plan
	}
	if plan == nil {
		return false
	}
	if plan.workspace > b.dnnWSCap {
		if b.dnnWS != 0 {
			b.free(b.dnnWS)
			b.dnnWS, b.dnnWSCap = 0, 0
		}
		p, err := b.alloc(plan.workspace)
		if err != nil {
			b.fail(err)
			return true
		}
		b.dnnWS, b.dnnWSCap = p, plan.workspace
	}
	// By-value scalars live in the pinned parameter block (C memory).
	sc := (*float32)(unsafe.Add(b.params.p, dnnScalarOffset))
	lo := (*float32)(unsafe.Add(b.params.p, dnnScalarOffset+4))
	*sc, *lo = scale, -math.MaxFloat32
	uids := []int64{uidQ, uidK, uidV, uidO, uidScale, uidLowest}
	ptrs := []uintptr{q.ptr, k.ptr, v.ptr, d.ptr, uintptr(unsafe.Pointer(sc)), uintptr(unsafe.Pointer(lo))}
	c := b.dnn
	var vp uintptr
	if st := c.create(dnnDescVariantPack, &vp); st != 0 {
		b.fail(c.status("variant pack", st))
		return true
	}
	defer c.destroy(vp)
	ws := b.dnnWS
	st := c.setAttr(vp, dnnAttrVPUIDs, dnnTypeInt64, int64(len(uids)), unsafe.Pointer(&uids[0]))
	if st == 0 {
		st = c.setAttr(vp, dnnAttrVPPointers, dnnTypeVoidPtr, int64(len(ptrs)), unsafe.Pointer(&ptrs[0]))
	}
	if st == 0 {
		st = c.setAttr(vp, dnnAttrVPWorkspace, dnnTypeVoidPtr, 1, unsafe.Pointer(&ws))
	}
	if st == 0 {
		st = c.finalize(vp)
	}
	if st == 0 {
		st = c.execute(b.dnnHandle, plan.plan, vp)
	}
	b.fail(c.status("execute attention", st))
	return true
}

// dnnDefaultMinLen is the shortest prefill sent to cuDNN. Building a plan
// for a new length costs ~65 ms (measured on the H100), paid once per
// length per process; below 1K tokens the own kernel's whole cost is lower.
const dnnDefaultMinLen = 1024

// dnnScalarOffset is where the by-value scalars sit in the parameter block.
const dnnScalarOffset = scalarOffset + 64

// openDNN sets up the optional cuDNN path; failures leave it off.
func (b *Backend) openDNN() {
	c, err := openCudnn()
	if err != nil {
		b.dnnErr = err
		return
	}
	var h uintptr
	if st := c.cudnnCreate(&h); st != 0 {
		b.dnnErr = c.status("create handle", st)
		return
	}
	if st := c.cudnnSetStream(h, b.stream); st != 0 {
		b.dnnErr = c.status("set stream", st)
		c.cudnnDestroy(h)
		return
	}
	b.dnn, b.dnnHandle = c, h
	b.dnnPlans = map[dnnKey]*dnnPlan{}
}

func (b *Backend) closeDNN() {
	if b.dnn == nil {
		return
	}
	for _, p := range b.dnnPlans {
		if p != nil {
			p.g.destroy()
		}
	}
	b.dnnPlans = nil
	b.dnn.cudnnDestroy(b.dnnHandle)
	b.dnn = nil
}
