package kvcache

import (
	"slices"
	"testing"

	"github.com/sdtp/sdtp/backend"
	"github.com/sdtp/sdtp/backend/cpu"
)

// filled returns a one-layer cache of n tokens at positions 10, 11, ...
// whose key row i holds 1000·pos + column and value row 2000·pos + column,
// tracking attention with score pos/10.
func filled(t *testing.T, b backend.Backend, n, kv int) *Cache {
	t.Helper()
	c := New(b, 1, kv, 2)
	c.TrackAttention()
	k, v := make([]float32, n*kv), make([]float32, n*kv)
	pos := make([]int32, n)
	for i := range n {
		pos[i] = int32(10 + i)
		for e := range kv {
			k[i*kv+e], v[i*kv+e] = float32(1000*pos[i])+float32(e), float32(2000*pos[i])+float32(e)
		}
	}
	kt, vt := b.FromHost(k, n, kv), b.FromHost(v, n, kv)
	defer b.Free(kt)
	defer b.Free(vt)
	c.Append(0, kt, vt, pos)
	m := c.MassRows(0)
	mass := make([]float32, n)
	for i := range mass {
		mass[i] = float32(pos[i]) / 10
	}
	mt := b.FromHost(mass, n, 1)
	b.Copy(m, mt)
	b.Free(mt)
	c.AddMass()
	return c
}

// checkRows checks that every row of layer 0 holds the keys, values and
// score of the position recorded for it.
func checkRows(t *testing.T, c *Cache, kv int) {
	t.Helper()
	k, v := c.KV(0)
	kd, vd := cpu.Data(k), cpu.Data(v)
	for i, p := range c.Positions(0) {
		for e := range kv {
			if kd[i*kv+e] != float32(1000*p)+float32(e) || vd[i*kv+e] != float32(2000*p)+float32(e) {
				t.Fatalf("row %d (position %d) holds key %v value %v", i, p, kd[i*kv:(i+1)*kv], vd[i*kv:(i+1)*kv])
			}
		}
		if got, want := c.Scores(0)[i], float64(float32(p)/10); got != want {
			t.Fatalf("row %d (position %d) has score %v, want %v", i, p, got, want)
		}
	}
}

// TestEvict removes rows, few (moved one by one) and many (gathered), and
// checks that the kept tokens, and only they, remain with their keys,
// values, positions and scores.
func TestEvict(t *testing.T) {
	b := cpuBackend(t)
	const kv = 3
	for _, tc := range []struct {
		n     int
		evict []int32
	}{
		{5, nil},
		{5, []int32{4}},
		{5, []int32{0}},
		{6, []int32{1, 5}},
		{12, []int32{0, 2, 3, 4, 6, 7, 9}},
		{12, []int32{5, 6, 7, 8, 9, 10, 11}},
		{3, []int32{0, 1, 2}},
	} {
		c := filled(t, b, tc.n, kv)
		want := []int32{}
		for i := range tc.n {
			if !slices.Contains(tc.evict, int32(i)) {
				want = append(want, int32(10+i))
			}
		}
		c.Evict(0, tc.evict)
		if c.Len(0) != len(want) || len(c.Scores(0)) != len(want) {
			t.Fatalf("evict %v of %d: %d tokens, %d scores, want %d", tc.evict, tc.n, c.Len(0), len(c.Scores(0)), len(want))
		}
		got := slices.Clone(c.Positions(0))
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("evict %v of %d: positions %v, want %v", tc.evict, tc.n, got, want)
		}
		checkRows(t, c, kv)
		// A decode step still appends after the rows kept.
		k, v := c.Reserve(0, 1)
		row := []float32{1000 * 99, 1000*99 + 1, 1000*99 + 2}
		b.Copy(k, b.FromHost(row, 1, kv))
		b.Copy(v, b.FromHost([]float32{2000 * 99, 2000*99 + 1, 2000*99 + 2}, 1, kv))
		c.Commit(0, []int32{99})
		if s := c.Scores(0); len(s) != len(want)+1 || s[len(want)] != 0 {
			t.Fatalf("a new token's score is %v", s)
		}
		c.Scores(0)[len(want)] = float64(float32(99) / 10) // as checkRows wants it
		checkRows(t, c, kv)
		c.Free()
	}
}

// TestEvictRefusesBadRows checks the programming-error panics.
func TestEvictRefusesBadRows(t *testing.T) {
	b := cpuBackend(t)
	for _, rows := range [][]int32{{5}, {-1}, {2, 1}, {1, 1}} {
		c := filled(t, b, 5, 2)
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Evict(%v) of 5 rows did not panic", rows)
				}
			}()
			c.Evict(0, rows)
		}()
	}
}

// TestShrink checks that Shrink reduces storage to the rows asked for
// (never below the tokens held), keeping the contents.
func TestShrink(t *testing.T) {
	b := cpuBackend(t)
	const kv = 2
	c := filled(t, b, 10, kv) // capacity 12
	c.Evict(0, []int32{0, 1, 2, 3, 4, 5})
	if got := c.CapacityBytes(); got != Bytes(b, kv, 12) {
		t.Fatalf("capacity %d before Shrink", got)
	}
	c.Shrink(0, 5)
	if got := c.CapacityBytes(); got != Bytes(b, kv, 5) {
		t.Fatalf("capacity %d after Shrink(0, 5), want %d", got, Bytes(b, kv, 5))
	}
	checkRows(t, c, kv)
	c.Shrink(0, 2) // below the 4 tokens: keeps them
	if got := c.CapacityBytes(); got != Bytes(b, kv, 4) {
		t.Fatalf("capacity %d after Shrink(0, 2), want %d", got, Bytes(b, kv, 4))
	}
	checkRows(t, c, kv)
	c.Shrink(0, 9) // more than it holds: nothing to give back
	if got := c.CapacityBytes(); got != Bytes(b, kv, 4) {
		t.Fatalf("capacity %d after Shrink(0, 9), want %d", got, Bytes(b, kv, 4))
	}
}

// TestMassAccumulates checks that AddMass adds each pass's mass to the
// scores of the layers written, and that mass rows written before the
// rows grow survive it.
func TestMassAccumulates(t *testing.T) {
	b := cpuBackend(t)
	c := New(b, 2, 1, 0)
	c.TrackAttention()
	one := b.FromHost([]float32{0}, 1, 1)
	defer b.Free(one)
	write := func(l int, vals ...float32) {
		m := c.MassRows(l)
		v := b.FromHost(vals, len(vals), 1)
		b.Copy(m, v)
		b.Free(v)
	}
	c.Append(0, one, one, []int32{0})
	c.Append(1, one, one, []int32{0})
	write(0, 1)
	write(1, 2)
	c.AddMass()
	c.Append(0, one, one, []int32{1})
	write(0, 0.5, 0.25)
	for range 40 { // layer 1 outgrows the mass rows while layer 0's are pending
		c.Append(1, one, one, []int32{1})
	}
	write(1, make([]float32, 41)...)
	c.AddMass()
	c.AddMass() // nothing pending: adds nothing
	if s := c.Scores(0); !slices.Equal(s, []float64{1.5, 0.25}) {
		t.Errorf("layer 0 scores %v, want [1.5 0.25]", s)
	}
	if s := c.Scores(1); len(s) != 41 || s[0] != 2 || s[40] != 0 {
		t.Errorf("layer 1 scores %v", s)
	}
}
