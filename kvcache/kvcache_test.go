package kvcache

import (
	"testing"

	"github.com/sdtp/sdtp/backend"
	"github.com/sdtp/sdtp/backend/cpu"
)

// cpuBackend opens a one-thread CPU backend, closed when the test ends.
func cpuBackend(t *testing.T) backend.Backend {
	t.Helper()
	b, err := cpu.New(backend.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func rows(b backend.Backend, n, cols int, base float32) backend.Tensor {
	v := make([]float32, n*cols)
	for i := range v {
		v[i] = base + float32(i)
	}
	return b.FromHost(v, n, cols)
}

// TestPerLayerLengthsAndGrowth appends different counts per layer, past
// the reserved capacity, and checks contents, positions and byte counts.
func TestPerLayerLengthsAndGrowth(t *testing.T) {
	b := cpuBackend(t)
	const kv = 3
	c := New(b, 2, kv, 1)
	c.Append(0, rows(b, 4, kv, 0), rows(b, 4, kv, 100), []int32{0, 1, 2, 3})
	c.Append(1, rows(b, 2, kv, 0), rows(b, 2, kv, 100), []int32{1, 3})
	// Each layer's storage holds its tokens and one reserved row.
	if got, want := c.CapacityBytes(), Bytes(b, kv, 5+3); got != want || c.Bytes() != Bytes(b, kv, 4+2) {
		t.Fatalf("capacity %d bytes, want %d; bytes %d", got, want, c.Bytes())
	}
	for step := 0; step < 3; step++ { // decode: one token per layer, growing past the reserve
		for l := 0; l < 2; l++ {
			k, v := c.Reserve(l, 1)
			b.Copy(k, rows(b, 1, kv, 50+float32(step)))
			b.Copy(v, rows(b, 1, kv, 150+float32(step)))
			c.Commit(l, []int32{int32(4 + step)})
		}
	}
	if got := c.Tokens(); got[0] != 7 || got[1] != 5 {
		t.Fatalf("tokens %v, want [7 5]", got)
	}
	if c.LayerBytes(1) != 5*kv*2*4 || c.Bytes() != 12*kv*2*4 {
		t.Fatalf("bytes %d / %d", c.LayerBytes(1), c.Bytes())
	}
	if p := c.Positions(1); len(p) != 5 || p[1] != 3 || p[4] != 6 {
		t.Fatalf("positions %v", p)
	}
	k, v := c.KV(1)
	kd, vd := cpu.Data(k), cpu.Data(v)
	// Row 1 of layer 1 is the second appended row (values 3..5); row 4 is the last decode step.
	if kd[1*kv] != 3 || vd[1*kv] != 103 || kd[4*kv] != 52 || vd[4*kv+2] != 154 {
		t.Fatalf("contents after growth: k %v v %v", kd, vd)
	}
	c.Free()
	if c.Len(0) != 0 || c.Bytes() != 0 {
		t.Fatal("Free left tokens behind")
	}
}

func TestCommitWithoutReservePanics(t *testing.T) {
	b := cpuBackend(t)
	c := New(b, 1, 2, 0)
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	c.Commit(0, []int32{0})
}

// TestAppendBatch adds one token to layer 1 of three caches of different
// lengths from one tensor of keys then values.
func TestAppendBatch(t *testing.T) {
	b := cpuBackend(t)
	const kv = 2
	caches := []*Cache{New(b, 2, kv, 1), New(b, 2, kv, 0), New(b, 2, kv, 4)}
	for i, c := range caches {
		c.Append(1, rows(b, i+1, kv, 0), rows(b, i+1, kv, 100), make([]int32, i+1))
	}
	AppendBatch(b, caches, 1, rows(b, 6, kv, 10), []int32{7, 8, 9}) // keys 10.., then values 16..
	for i, c := range caches {
		if c.Len(1) != i+2 || c.Len(0) != 0 || c.Positions(1)[i+1] != int32(7+i) {
			t.Fatalf("cache %d: lengths %v, positions %v", i, c.Tokens(), c.Positions(1))
		}
		k, v := c.KV(1)
		kd, vd := cpu.Data(k), cpu.Data(v)
		if kd[(i+1)*kv] != float32(10+2*i) || vd[(i+1)*kv+1] != float32(10+6+2*i+1) || kd[0] != 0 {
			t.Errorf("cache %d: keys %v values %v", i, kd, vd)
		}
	}
}
