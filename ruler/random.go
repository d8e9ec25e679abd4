package ruler

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
)

// newRand returns the random source of one piece of generation, a
// function of the run's seed and the names and numbers that identify the
// piece (task, length, sample index, ...), so that every sample can be
// regenerated on its own, in any order, on any machine.
func newRand(seed uint64, parts ...any) *rand.Rand {
	h := fnv.New128a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], seed)
	h.Write(b[:])
	for _, p := range parts {
		fmt.Fprintf(h, "\x00%v", p)
	}
	sum := h.Sum(nil)
	return rand.New(rand.NewPCG(binary.LittleEndian.Uint64(sum[:8]), binary.LittleEndian.Uint64(sum[8:])))
}

// sampleIndices returns k distinct integers of [0, n) in random order, as
// Python's random.sample(range(n), k) does (another generator, the same
// distribution). It panics if k > n; callers check.
func sampleIndices(r *rand.Rand, n, k int) []int {
	if k > n {
		panic(fmt.Sprintf("ruler: sample of %d from %d", k, n))
	}
	// A partial Fisher-Yates shuffle over a sparse permutation.
	swapped := make(map[int]int, k)
	at := func(i int) int {
		if v, ok := swapped[i]; ok {
			return v
		}
		return i
	}
	out := make([]int, k)
	for i := range k {
		j := i + r.IntN(n-i)
		out[i] = at(j)
		swapped[j] = at(i)
	}
	return out
}

// randomNumber is RULER's generate_random_number: a decimal number of
// digits digits, uniform over [10^(digits-1), 10^digits - 1].
func randomNumber(r *rand.Rand, digits int) string {
	lo := 1
	for range digits - 1 {
		lo *= 10
	}
	return fmt.Sprint(lo + r.IntN(9*lo))
}

// randomUUID is RULER's generate_random_uuid: uuid.UUID(int=128 random
// bits, version=4), written in lower-case 8-4-4-4-12 form.
func randomUUID(r *rand.Rand) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], r.Uint64())
	binary.BigEndian.PutUint64(b[8:], r.Uint64())
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// randomLetters returns k letters drawn with replacement from alphabet
// (Python's ”.join(random.choices(alphabet, k=k))).
func randomLetters(r *rand.Rand, alphabet string, k int) string {
	b := make([]byte, k)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

const (
	upperLetters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	lowerLetters = "abcdefghijklmnopqrstuvwxyz"
)
