package bench

import "github.com/sdtp/sdtp/backend"

// Prompt returns a synthetic prompt of exactly n token ids in [0, vocab),
// the same for the same (n, vocab, seed) on every machine. It starts with
// bos when bos >= 0, as a tokenizer would; the other ids are drawn from
// backend.RandomValue, so no pattern in them lets a model shortcut work.
// Latency does not depend on the ids' values.
func Prompt(n, vocab, bos int, seed uint64) []int {
	ids := make([]int, n)
	for i := range ids {
		u := float64(backend.RandomValue(seed, uint64(i))+1) / 2 // [0, 1)
		ids[i] = min(int(u*float64(vocab)), vocab-1)
	}
	if n > 0 && bos >= 0 && bos < vocab {
		ids[0] = bos
	}
	return ids
}
