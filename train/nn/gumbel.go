package nn

import "math"

// Gumbel turns a uniform draw u in (0, 1) into a standard Gumbel draw
// −log(−log u).
func Gumbel(u float64) float64 { return -math.Log(-math.Log(u)) }

// KeepDecision is the hard straight-through Gumbel-softmax over the two
// logits (keep, drop) of a pruning module, perturbed by Gumbel draws gKeep
// and gDrop at temperature tau. soft is the keep probability of the
// relaxed sample, σ((keep+gKeep − drop−gDrop)/tau); hard is its rounding
// (1 when the perturbed keep logit wins, else 0). The forward pass uses
// hard; KeepDecisionBack passes the gradient through soft.
func KeepDecision(keep, drop, gKeep, gDrop, tau float64) (hard, soft float64) {
	soft = sigmoid((keep + gKeep - drop - gDrop) / tau)
	if keep+gKeep > drop+gDrop {
		hard = 1
	}
	return hard, soft
}

// KeepDecisionBack returns the straight-through gradients with respect to
// the keep and drop logits given dmask, the gradient with respect to the
// hard decision: dmask·∂soft/∂keep and dmask·∂soft/∂drop.
func KeepDecisionBack(dmask, soft, tau float64) (dKeep, dDrop float64) {
	g := dmask * soft * (1 - soft) / tau
	return g, -g
}
