// Package train measures token saliency and trains SDTP pruning modules
// in front of a frozen model, on the host in float64: saliency (gradient ×
// input of the mean next-token loss at every block), the training
// objective (L_cls + L_mse + L_rank + keep-ratio loss, with hard
// straight-through Gumbel-softmax masks inside attention), AdamW, the
// training loop with checkpoints and resume, evaluation against the
// saliency and the random and keep-most-recent baselines, and sampling a
// corpus from the model itself; with the texts they read (LoadTexts), the
// files they write (the saliency file, the eval report, a module's
// training Record). docs/TRAINING.md describes the method, the file
// formats and the stories260K results.
package train
