#!/usr/bin/env python3
"""PyTorch autograd baseline for `sdtp train bench`: saliency on the Qwen2-7B shape.

Builds transformers' Qwen2ForCausalLM with the Qwen2-7B shape and random bf16 weights
on the GPU (sdpa attention, eval mode, weights frozen) and measures, per length:

  prefill_s   forward pass to the last token's logits (logits_to_keep=1), no grad
  saliency_s  SDTP's saliency as sdtp computes it: forward keeping the hidden states
              entering every decoder layer (retain_grad), T = mean next-token
              cross-entropy over the whole sequence (float32 over bf16 logits),
              backward, and sum_d grad*x at every layer
  peak_gib    torch.cuda.max_memory_allocated during the saliency pass

Plain autograd keeps every layer's activations; when that runs out of memory the row
is retried with transformers' gradient checkpointing (mode says which ran).
Timings: one warm-up, then the median of --repeats runs, torch.cuda.synchronize()
around each.

Run on the GPU machine (about a minute):
  python3 scripts/gpu/saliency_torch_bench.py --lengths 4096,8192 --out /tmp/torch_saliency.json
"""

import argparse
import json
import statistics
import time

import torch
import transformers


def qwen2_7b_config():
    return transformers.Qwen2Config(
        vocab_size=152064, hidden_size=3584, intermediate_size=18944, num_hidden_layers=28,
        num_attention_heads=28, num_key_value_heads=4, max_position_embeddings=32768,
        rope_theta=1e6, rms_norm_eps=1e-6, tie_word_embeddings=False, use_cache=False,
        attn_implementation="sdpa",
    )


def timed(fn, repeats):
    fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(repeats):
        torch.cuda.synchronize()
        t = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def saliency(model, ids):
    # Frozen weights: the embeddings enter as a leaf that requires grad, so the block
    # inputs carry grads (hidden_states[0] is that leaf).
    emb = model.get_input_embeddings()(ids[None]).detach().requires_grad_(True)
    out = model(inputs_embeds=emb, output_hidden_states=True, use_cache=False)
    layers = model.config.num_hidden_layers
    hs = out.hidden_states[:layers]
    for h in hs:
        h.retain_grad()
    loss = torch.nn.functional.cross_entropy(out.logits[0, :-1].float(), ids[1:])
    loss.backward()
    sal = torch.stack([(h.grad[0].float() * h[0].float()).sum(-1) for h in hs])
    return sal


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lengths", default="4096,8192")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default="")
    a = ap.parse_args()
    torch.manual_seed(0)
    cfg = qwen2_7b_config()
    with torch.device("cuda"):
        model = transformers.Qwen2ForCausalLM(cfg).to(torch.bfloat16)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    info = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__,
            "transformers": transformers.__version__, "shape": "Qwen2-7B (random bf16 weights, sdpa)", "rows": []}
    gen = torch.Generator(device="cuda").manual_seed(1)
    for n in [int(x) for x in a.lengths.split(",")]:
        ids = torch.randint(1, cfg.vocab_size, (n,), device="cuda", generator=gen)
        with torch.no_grad():
            pre = timed(lambda: model(ids[None], use_cache=False, logits_to_keep=1), a.repeats)
        row = {"tokens": n, "prefill_s": pre}
        for mode in ("autograd", "checkpointing"):
            try:
                if mode == "checkpointing":
                    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
                    model.train()  # transformers checkpoints only in training mode (no dropout in Qwen2)
                torch.cuda.reset_peak_memory_stats()
                sal = timed(lambda: saliency(model, ids), a.repeats)
                row.update({"mode": mode, "saliency_s": sal, "saliency_over_prefill": sal / pre,
                            "peak_gib": torch.cuda.max_memory_allocated() / 2**30})
                break
            except torch.OutOfMemoryError as e:
                row["oom_" + mode] = str(e).split("\n")[0][:200]
                torch.cuda.empty_cache()
            finally:
                if mode == "checkpointing":
                    model.gradient_checkpointing_disable()
                    model.eval()
        info["rows"].append(row)
        print(json.dumps(row), flush=True)
    if a.out:
        with open(a.out, "w") as f:
            json.dump(info, f, indent=1)


if __name__ == "__main__":
    main()
