"""Times Hugging Face transformers on a random-weight Qwen2-7B- or Mistral-7B-shaped model.

Qwen2ForCausalLM (--shape qwen2-7b, the default) or MistralForCausalLM (--shape
mistral-7b: 32 layers, no sliding window, as sdtp's synthetic:mistral-7b), bf16,
sdpa attention, batch 1. For each prompt length:
prefill seconds (one forward pass, last-token logits, median of REPS after
a warm-up), and end-to-end seconds of `generate` (greedy, exactly NEW
tokens); decode ms/token = (end to end - prefill) / NEW. With --pruned, also
the SDTP `paper` schedule as a manual loop over the decoder layers (random
pruning modules Linear(d, d/4)-GELU-Linear(d/4, 2) scoring the alive tokens
before blocks 4, 7, ... below the layer count (25 for Qwen2-7B, 31 for
Mistral-7B); keep max(round(N*0.9^s), P) with the first 4 and
last ceil(0.1 N) prompt tokens protected; top-k gathers in ascending order,
original position ids kept). A length that runs out of GPU memory prints a
JSON line with "error" and ends the sweep (longer ones would not fit either).
Prints one JSON line per measurement and a markdown table. Run on the GPU
machine:

    python3 scripts/gpu/hf_bench.py --lens 1024,2048 --new 128 --pruned
    python3 scripts/gpu/hf_bench.py --shape mistral-7b --lens 4096,131072 --new 128 --pruned
"""

import argparse
import json
import math
import statistics
import time

import torch
from transformers import MistralConfig, MistralForCausalLM, Qwen2Config, Qwen2ForCausalLM


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--lens", default="1024,2048,4096,8192,16384,32768")
    p.add_argument("--new", type=int, default=128)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--shape", choices=["qwen2-7b", "mistral-7b"], default="qwen2-7b")
    p.add_argument("--layers", type=int, default=0, help="decoder layers (0: the shape's, 28 or 32)")
    p.add_argument("--pruned", action="store_true", help="also time the paper schedule as a manual layer loop")
    a = p.parse_args()
    lens = [int(x) for x in a.lens.split(",")]
    positions = max(lens) + a.new + 8
    if a.shape == "mistral-7b":
        cfg = MistralConfig(
            vocab_size=32000, hidden_size=4096, intermediate_size=14336,
            num_hidden_layers=a.layers or 32, num_attention_heads=32, num_key_value_heads=8,
            max_position_embeddings=positions, rope_theta=1e6, rms_norm_eps=1e-5,
            tie_word_embeddings=False, sliding_window=None,
            attn_implementation="sdpa", torch_dtype=torch.bfloat16)
        cls = MistralForCausalLM
    else:
        cfg = Qwen2Config(
            vocab_size=152064, hidden_size=3584, intermediate_size=18944,
            num_hidden_layers=a.layers or 28, num_attention_heads=28, num_key_value_heads=4,
            max_position_embeddings=positions, rope_theta=1e6,
            rms_norm_eps=1e-6, tie_word_embeddings=False, use_sliding_window=False,
            attn_implementation="sdpa", torch_dtype=torch.bfloat16)
        cls = Qwen2ForCausalLM
    layers = cfg.num_hidden_layers
    torch.manual_seed(0)
    t0 = time.perf_counter()
    torch.set_default_dtype(torch.bfloat16)
    with torch.device("cuda"):
        model = cls(cfg)
    model.eval()
    torch.cuda.synchronize()
    print(f"# transformers model built in {time.perf_counter() - t0:.1f}s on {torch.cuda.get_device_name()}", flush=True)

    modules = {}
    if a.pruned:
        d = cfg.hidden_size
        with torch.device("cuda"):
            for loc in range(4, layers, 3):
                modules[loc] = torch.nn.Sequential(
                    torch.nn.Linear(d, d // 4), torch.nn.GELU(), torch.nn.Linear(d // 4, 2)).to(torch.bfloat16)

    rows = []
    for n in lens:
        try:
            r = measure(model, modules, cfg, n, a)
        except torch.cuda.OutOfMemoryError as e:
            print(json.dumps({"engine": "transformers", "tokens": n, "error": "out of memory: " + str(e).splitlines()[0]}), flush=True)
            break
        finally:
            torch.cuda.empty_cache()
        rows.append(r)
        print(json.dumps(r), flush=True)
    print("| tokens | prefill s | decode ms/tok | e2e s | pruned (paper) prefill s |")
    print("|---|---|---|---|---|")
    for r in rows:
        pp = f"{r['pruned_prefill_s']:.4f}" if "pruned_prefill_s" in r else "-"
        print(f"| {r['tokens']} | {r['prefill_s']:.4f} | {r['decode_ms']:.2f} | {r['e2e_s']:.3f} | {pp} |")


def measure(model, modules, cfg, n, a):
    """Times one prompt length: prefill, generate, and the pruned loop."""
    ids = torch.randint(0, cfg.vocab_size, (1, n), device="cuda")
    with torch.inference_mode():
        model(ids, logits_to_keep=1)  # warm-up
        torch.cuda.synchronize()
        ts = []
        for _ in range(a.reps):
            t = time.perf_counter()
            model(ids, logits_to_keep=1)
            torch.cuda.synchronize()
            ts.append(time.perf_counter() - t)
        prefill = statistics.median(ts)
        t = time.perf_counter()
        out = model.generate(ids, max_new_tokens=a.new, min_new_tokens=a.new, do_sample=False)
        torch.cuda.synchronize()
        e2e = time.perf_counter() - t
    assert out.shape[1] == n + a.new
    r = {"engine": "transformers", "tokens": n, "prefill_s": prefill,
         "decode_ms": (e2e - prefill) * 1000 / a.new, "e2e_s": e2e}
    if a.pruned:
        with torch.inference_mode():
            pruned_prefill(model, modules, ids)  # warm-up
            torch.cuda.synchronize()
            ts = []
            for _ in range(a.reps):
                t = time.perf_counter()
                pruned_prefill(model, modules, ids)
                torch.cuda.synchronize()
                ts.append(time.perf_counter() - t)
        r["pruned_prefill_s"] = statistics.median(ts)
    return r


def pruned_prefill(model, modules, ids, ratio=0.9):
    """Runs the decoder layers with the SDTP schedule; returns last logits."""
    inner = model.model
    n = ids.shape[1]
    h = inner.embed_tokens(ids)
    pos = torch.arange(n, device=ids.device)
    protected = torch.zeros(n, dtype=torch.bool, device=ids.device)
    protected[:4] = True
    protected[n - math.ceil(0.1 * n):] = True
    p_count = int(protected.sum())
    stage = 0
    for l, layer in enumerate(inner.layers):
        if l in modules:
            stage += 1
            keep = max(int(math.floor(n * ratio ** stage + 0.5)), p_count)
            if keep < h.shape[1]:
                logits = modules[l](h[0]).float()
                score = logits[:, 0] - logits[:, 1]
                score = torch.where(protected[pos], torch.full_like(score, float("inf")), score)
                idx = torch.topk(score, keep).indices.sort().values
                h = h[:, idx]
                pos = pos[idx]
        pe = inner.rotary_emb(h, pos[None])
        out = layer(h, attention_mask=None, position_ids=pos[None], position_embeddings=pe)
        h = out[0] if isinstance(out, tuple) else out
    h = inner.norm(h[:, -1:])
    return model.lm_head(h)


if __name__ == "__main__":
    main()
