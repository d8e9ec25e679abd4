// Package nn holds the host (float64) layers that training needs, each as
// a forward function and a hand-written backward function: linear maps,
// RMSNorm, rotary position embedding in both layouts, SiLU-gated and GELU
// activations, causal grouped-query attention with a per-key keep mask,
// cross-entropy and the straight-through Gumbel-softmax keep decision.
//
// Matrices are row-major []float64 with their sizes passed explicitly.
// Backward functions accumulate (+=) into their gradient outputs, so
// gradients arriving along several paths add up without extra buffers;
// callers zero the buffers they start from.
package nn
