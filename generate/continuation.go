package generate

import (
	"context"

	"github.com/sdtp/sdtp/backend"
	"github.com/sdtp/sdtp/model"
)

// continuationPruner runs a pruner over the prompt before its last tail
// tokens and always keeps those tokens, so they behave as decoded tokens
// do after a pruned prefill of the rest: the inner pruner sees exactly the
// rows, positions and prompt length it would see for the shorter prompt
// alone (hidden states are causal, so the tail does not change them). It
// also records the original positions of the rows alive after the latest
// block, which the prompt logprobs need to know which rows the logits
// belong to.
type continuationPruner struct {
	inner model.Pruner
	tail  int
	// alive holds the positions of the rows that went on at the latest
	// call: after a forward pass, the rows the logits are computed for.
	alive []int32
}

// Keep implements model.Pruner.
func (p *continuationPruner) Keep(ctx context.Context, b backend.Backend, layer int, hidden backend.Tensor, pos []int32, n int) ([]int32, error) {
	rows := len(pos)
	head := rows - p.tail // the alive rows of the prompt before the tail
	var keep []int32
	var err error
	if p.tail == 0 {
		keep, err = p.inner.Keep(ctx, b, layer, hidden, pos, n)
	} else {
		keep, err = p.inner.Keep(ctx, b, layer, b.View(hidden, 0, head), pos[:head], n-p.tail)
		if keep != nil {
			for r := head; r < rows; r++ {
				keep = append(keep, int32(r))
			}
		}
	}
	if err != nil {
		return nil, err
	}
	if keep == nil || len(keep) >= rows {
		p.alive = append(p.alive[:0], pos...)
		return keep, nil
	}
	alive := make([]int32, 0, len(keep))
	for _, k := range keep {
		if k < 0 || int(k) >= rows {
			return keep, nil // the model refuses such indices with a clear error
		}
		alive = append(alive, pos[k])
	}
	p.alive = alive
	return keep, nil
}
