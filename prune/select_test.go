package prune

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func seq(n int) []int32 {
	p := make([]int32, n)
	for i := range p {
		p[i] = int32(i)
	}
	return p
}

func TestSelectKeepsProtectedAndBest(t *testing.T) {
	// n=20: protected are 0..3 and 18,19 (ceil(2.0)=2).
	pos := seq(20)
	scores := make([]float32, 20)
	for i := range scores {
		scores[i] = float32(i % 7)
	}
	scores[10] = 100
	scores[5] = 50
	got, err := Select(pos, scores, 20, 8)
	if err != nil {
		t.Fatal(err)
	}
	want := []int32{0, 1, 2, 3, 5, 10, 18, 19}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestSelectTiesLowerPositionFirst(t *testing.T) {
	pos := seq(20)
	scores := make([]float32, 20) // all equal
	got, _ := Select(pos, scores, 20, 9)
	want := []int32{0, 1, 2, 3, 4, 5, 6, 18, 19}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestSelectNaNRanksLast(t *testing.T) {
	pos := seq(20)
	scores := make([]float32, 20)
	for i := range scores {
		scores[i] = float32(math.NaN())
	}
	scores[12] = -5
	got, _ := Select(pos, scores, 20, 7)
	want := []int32{0, 1, 2, 3, 12, 18, 19}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// TestSelectAfterEarlierStage works on an alive set that is not 0..n-1:
// protection follows original positions, the result indexes the alive rows.
func TestSelectAfterEarlierStage(t *testing.T) {
	pos := []int32{0, 1, 2, 3, 7, 9, 12, 15, 18, 19}
	scores := []float32{0, 0, 0, 0, 1, 5, 3, 2, 0, 0}
	got, _ := Select(pos, scores, 20, 8)
	want := []int32{0, 1, 2, 3, 5, 6, 8, 9}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestSelectRandomInvariants(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 500; trial++ {
		n := 1 + rng.IntN(300)
		pos := seq(n)
		scores := make([]float32, n)
		for i := range scores {
			scores[i] = rng.Float32()
		}
		keep := max(Protected(n), rng.IntN(n+1))
		got, err := Select(pos, scores, n, keep)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != min(keep, n) {
			t.Fatalf("n=%d keep=%d: kept %d", n, keep, len(got))
		}
		kept := map[int32]bool{}
		for i, g := range got {
			if i > 0 && g <= got[i-1] {
				t.Fatalf("not ascending: %v", got)
			}
			kept[g] = true
		}
		var minKept float32 = math.MaxFloat32
		for i := 0; i < n; i++ {
			if IsProtected(i, n) && !kept[int32(i)] {
				t.Fatalf("n=%d: protected %d dropped", n, i)
			}
			if kept[int32(i)] && !IsProtected(i, n) {
				minKept = min(minKept, scores[i])
			}
		}
		for i := 0; i < n; i++ {
			if !kept[int32(i)] && scores[i] > minKept {
				t.Fatalf("n=%d: dropped %d (score %v) above a kept score %v", n, i, scores[i], minKept)
			}
		}
	}
}

func BenchmarkSelect32K(b *testing.B) {
	n := 32768
	pos := seq(n)
	rng := rand.New(rand.NewPCG(3, 4))
	scores := make([]float32, n)
	for i := range scores {
		scores[i] = rng.Float32()
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Select(pos, scores, n, n*9/10); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSmallestSelectsTheKSmallest(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := 0; trial < 2000; trial++ {
		n := 1 + rng.IntN(200)
		keys := make([]uint64, n)
		for i := range keys {
			keys[i] = uint64(rng.IntN(50)) // many duplicates
		}
		sorted := append([]uint64(nil), keys...)
		slices.Sort(sorted)
		k := rng.IntN(n + 1)
		smallest(keys, k)
		head := append([]uint64(nil), keys[:k]...)
		slices.Sort(head)
		if !slices.Equal(head, sorted[:k]) {
			t.Fatalf("n=%d k=%d: head %v, want %v", n, k, head, sorted[:k])
		}
	}
}
