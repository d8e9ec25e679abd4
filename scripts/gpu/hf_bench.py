"""Times Hugging Face transformers on a random-weight Qwen2-7B-shaped model.

Qwen2ForCausalLM, bf16, sdpa attention, batch 1. For each prompt length:
prefill seconds (one forward pass, last-token logits, median of REPS after
a warm-up), and end-to-end seconds of `generate` (greedy, exactly NEW
tokens); decode ms/token = (end to end - prefill) / NEW. Prints one JSON
line per length and a markdown table. Run on the GPU machine:

    python3 scripts/gpu/hf_bench.py --lens 1024,2048 --new 128
"""

import argparse
import json
import statistics
import time

import torch
from transformers import Qwen2Config, Qwen2ForCausalLM


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--lens", default="1024,2048,4096,8192,16384,32768")
    p.add_argument("--new", type=int, default=128)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--layers", type=int, default=28)
    a = p.parse_args()
    lens = [int(x) for x in a.lens.split(",")]
    cfg = Qwen2Config(
        vocab_size=152064, hidden_size=3584, intermediate_size=18944,
        num_hidden_layers=a.layers, num_attention_heads=28, num_key_value_heads=4,
        max_position_embeddings=max(lens) + a.new + 8, rope_theta=1e6,
        rms_norm_eps=1e-6, tie_word_embeddings=False, use_sliding_window=False,
        attn_implementation="sdpa", torch_dtype=torch.bfloat16)
    torch.manual_seed(0)
    t0 = time.perf_counter()
    torch.set_default_dtype(torch.bfloat16)
    with torch.device("cuda"):
        model = Qwen2ForCausalLM(cfg)
    model.eval()
    torch.cuda.synchronize()
    print(f"# transformers model built in {time.perf_counter() - t0:.1f}s on {torch.cuda.get_device_name()}", flush=True)

    rows = []
    for n in lens:
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
        rows.append(r)
        print(json.dumps(r), flush=True)
        del ids, out
        torch.cuda.empty_cache()
    print("| tokens | prefill s | decode ms/tok | e2e s |")
    print("|---|---|---|---|")
    for r in rows:
        print(f"| {r['tokens']} | {r['prefill_s']:.4f} | {r['decode_ms']:.2f} | {r['e2e_s']:.3f} |")


if __name__ == "__main__":
    main()
