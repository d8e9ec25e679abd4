#!/usr/bin/env python3
"""Saliency golden from PyTorch autograd, for sdtp's GPU training parity test.

For the tiny random Qwen2 of the parity goldens (testdata/parity/qwen2/f32, made by
make_goldens.py), this computes SDTP's saliency with torch autograd, in float32 on the
GPU (CUDA when available, else the CPU), exactly as docs/TRAINING.md defines it:

  T = mean over i < n-1 of -log p(ids[i+1] | ids[<= i])   (the whole sequence)
  saliency[l][i] = sum_d dT/dx[l][i][d] * x[l][i][d]      x[l]: the hidden states entering block l

x[l] are the tensors transformers feeds to decoder layer l (output_hidden_states[l] for
l < L, each retained with retain_grad()); eager attention, no dropout (eval mode),
TF32 off. The token ids are drawn with a fixed seed from the vocabulary (not 0).

Writes (under --out, default testdata/parity/qwen2):
  saliency.safetensors   ids [N] int32, saliency [L, N] float32, loss [1] float32
  saliency.json          device, versions, N, seed

Run on the GPU machine (a few seconds):
  python3 scripts/parity/make_saliency_golden.py --out /tmp/sal
  # copy /tmp/sal/saliency.* into testdata/parity/qwen2/ and commit
"""

import argparse
import json
import os
import platform

import torch
import transformers
from safetensors.torch import save_file

N = 48
SEED = 20261207


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="testdata/parity/qwen2/f32")
    ap.add_argument("--out", default="testdata/parity/qwen2")
    a = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    model = transformers.AutoModelForCausalLM.from_pretrained(
        a.model, torch_dtype=torch.float32, attn_implementation="eager"
    ).to(dev)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    g = torch.Generator().manual_seed(SEED)
    vocab = model.config.vocab_size
    ids = torch.randint(1, vocab, (N,), generator=g)
    # The frozen weights make nothing require grad: the embeddings enter as a leaf that does,
    # so every block input (hidden_states[l], hidden_states[0] being that leaf) gets a grad.
    emb = model.get_input_embeddings()(ids[None].to(dev)).detach().requires_grad_(True)
    out = model(inputs_embeds=emb, output_hidden_states=True, use_cache=False)
    layers = model.config.num_hidden_layers
    hs = out.hidden_states[:layers]  # inputs of blocks 0..L-1
    for h in hs:
        h.retain_grad()
    logits = out.logits[0, :-1].float()
    loss = torch.nn.functional.cross_entropy(logits, ids[1:].to(dev))
    loss.backward()
    sal = torch.stack([(h.grad[0] * h[0]).sum(-1) for h in hs]).detach().float().cpu()
    os.makedirs(a.out, exist_ok=True)
    save_file(
        {"ids": ids.to(torch.int32), "saliency": sal.contiguous(), "loss": loss.detach().float().cpu().reshape(1)},
        os.path.join(a.out, "saliency.safetensors"),
    )
    info = {
        "model": a.model,
        "tokens": N,
        "seed": SEED,
        "loss": loss.item(),
        "device": torch.cuda.get_device_name(0) if dev == "cuda" else platform.processor(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "definition": "T = mean next-token cross-entropy over the whole sequence; saliency[l][i] = sum_d dT/dx * x at block l's input",
    }
    with open(os.path.join(a.out, "saliency.json"), "w") as f:
        json.dump(info, f, indent=1)
    print(json.dumps(info))
    print("saliency[0][:8]", sal[0, :8].tolist())


if __name__ == "__main__":
    main()
