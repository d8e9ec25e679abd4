package bench

import (
	"github.com/sdtp/sdtp/model"
	"github.com/sdtp/sdtp/prune"
)

// Count returns the analytic FLOPs of one run, by the rule of
// model/flops.go (matrix products 2·n·m·k plus biases, attention 4·HeadDim
// per query head per attended pair, nothing else):
//   - prefill: the decoder blocks with alive[l] tokens entering block l, the
//     last token's logits, and every pruning-module MLP that ran;
//   - decode: generated−1 forward passes of one token, step i attending
//     kv[l]+i cached keys at layer l plus itself, or with an H2O budget
//     (caps not nil) min(kv[l]+i, caps[l]): the cache of a layer at its
//     budget evicts one token per step. The attention mass H2O computes
//     to choose is not counted.
//
// sched is nil for the baseline; width is the module's hidden width. A
// stage's module runs only when the schedule asks it to drop tokens (the
// pruner skips scoring when the stage would keep every alive token).
func Count(c *model.Config, sched *prune.Schedule, width, n int, alive, kv, caps []int, generated int) FLOPs {
	var f FLOPs
	f.Prefill = c.PrefillFLOPs(alive)
	if sched != nil {
		f.Module = ModuleFLOPs(c, *sched, width, n, alive)
		f.Prefill += f.Module
	}
	cached := make([]int, len(kv))
	for step := 0; step < generated-1; step++ {
		for l := range kv {
			cached[l] = kv[l] + step
			if caps != nil {
				cached[l] = min(cached[l], caps[l])
			}
		}
		f.Decode += c.DecodeFLOPs(cached)
	}
	f.Total = f.Prefill + f.Decode
	return f
}

// ModuleFLOPs counts the pruning-module MLPs of one prefill of n tokens:
// at each stage that drops tokens, the m tokens entering it go through
// Linear(d→h) with bias, GELU (not counted) and Linear(h→2) with bias, that
// is 2·m·h·d + m·h + 2·m·2·h + 2·m.
func ModuleFLOPs(c *model.Config, s prune.Schedule, width, n int, alive []int) float64 {
	var total float64
	d, h := float64(c.Hidden), float64(width)
	for i, loc := range s.Locations {
		in := n
		if loc > 0 {
			in = alive[loc-1]
		}
		if s.Keep(n, i+1) >= in {
			continue
		}
		m := float64(in)
		total += 2*m*h*d + m*h + 2*m*2*h + 2*m
	}
	return total
}
