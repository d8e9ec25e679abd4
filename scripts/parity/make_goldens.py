#!/usr/bin/env python3
"""Build tiny random Hugging Face models and golden outputs for sdtp's parity tests.

What it writes (under --out, default ./testdata/parity), for each model NAME in
{qwen2, llama}:

  NAME/f32/    config.json + model.safetensors (float32 weights), as save_pretrained writes them
  NAME/bf16/   the same weights rounded to bfloat16 (round to nearest even), config dtype bfloat16
  NAME/golden.safetensors   float32 tensors (see below)
  NAME/golden.json          prompt ids, greedy continuations, checks, seeds, versions

golden.safetensors tensors (T = prompt length, V = vocab size, H = hidden size, L = layers):
  f32.logits                [T, V]  logits at every prompt position, f32 folder, float64 forward
  f32.continuation_logits   [32, V] logits that chose each greedy token (row i picks token i)
  f32.hidden.embed          [T, H]  token embeddings (input of layer 0)
  f32.hidden.layer.{i}      [T, H]  output of decoder layer i (residual stream, before the final norm)
  bf16.logits               [T, V]  logits at every prompt position, bf16 folder, float64 forward
  bf16.cuda_logits          [T, V]  bf16 folder run in torch bfloat16 on CUDA (eager attention);
                                    absent when no GPU was available

"float64 forward" means the model loaded from exactly the stored weights, converted with
model.to(torch.float64), eager attention, on CPU. Stock transformers computes RMSNorm, the
attention softmax and the RoPE angles in float32 even inside a float64 model; this script
patches those three spots (for float64 inputs only) so the goldens are float64 throughout,
checks the result against an independent float64 forward written here from the safetensors
file, and records both differences in golden.json. Greedy continuations are 32 argmax steps
(no EOS stop) from the float64 logits; the prompt is re-drawn until every step's top-1/top-2
logit margin is at least MIN_MARGIN, no continuation token is an EOS id and the continuation
holds at least MIN_DISTINCT different tokens, so a float32 engine must reproduce the tokens
exactly. transformers' generate(do_sample=False) is run too and must agree.

Run (on the GPU machine, which has torch and transformers; about a minute):

  python3 scripts/parity/make_goldens.py --out /tmp/parity
  # then copy /tmp/parity/* into testdata/parity/ and commit

Without CUDA the bf16.cuda_logits tensor is skipped and golden.json says so.
"""

import argparse
import copy
import json
import math
import os
import platform
import shutil
import sys
import types

import torch
import transformers
from safetensors.torch import load_file, save_file

PROMPT_LEN = 24
NEW_TOKENS = 32
MIN_MARGIN = 2e-3
MIN_DISTINCT = 8
MAX_PROMPT_TRIES = 200

MODELS = {
    "qwen2": dict(
        cls="Qwen2ForCausalLM",
        cfg_cls="Qwen2Config",
        weight_seed=1234,
        prompt_seed=100,
        embed_std=1.0,
        config=dict(
            vocab_size=512,
            hidden_size=64,
            intermediate_size=172,
            num_hidden_layers=3,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=256,
            rms_norm_eps=1e-6,
            rope_theta=1000000.0,
            tie_word_embeddings=False,
            use_sliding_window=False,
            bos_token_id=1,
            eos_token_id=[2, 3],
        ),
        head_dim=16,
        qkv_bias=True,
    ),
    "llama": dict(
        cls="LlamaForCausalLM",
        cfg_cls="LlamaConfig",
        weight_seed=5678,
        prompt_seed=200,
        # Tied embeddings: a small embedding keeps the model from echoing its input token.
        embed_std=0.25,
        config=dict(
            vocab_size=512,
            hidden_size=64,
            intermediate_size=172,
            num_hidden_layers=3,
            num_attention_heads=8,
            num_key_value_heads=2,
            head_dim=8,
            max_position_embeddings=256,
            rms_norm_eps=1e-5,
            rope_theta=500000.0,
            tie_word_embeddings=True,
            attention_bias=False,
            mlp_bias=False,
            bos_token_id=1,
            eos_token_id=2,
        ),
        head_dim=8,
        qkv_bias=False,
    ),
}

PROBLEMS = []


def problem(msg):
    print("PROBLEM:", msg, flush=True)
    PROBLEMS.append(msg)


def init_weights(model, seed, hidden, embed_std):
    """Overwrite every parameter with seeded values that give O(1) activations and logits."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            shape = tuple(p.shape)
            if name.endswith("embed_tokens.weight"):
                v = torch.randn(shape, generator=g) * embed_std
            elif name.endswith("lm_head.weight"):
                v = torch.randn(shape, generator=g) * (2.0 / math.sqrt(hidden))
            elif name.endswith("norm.weight"):
                v = 0.6 + 0.8 * torch.rand(shape, generator=g)
            elif name.endswith(".bias"):
                v = 0.3 * torch.randn(shape, generator=g)
            elif len(shape) == 2:
                v = torch.randn(shape, generator=g) / math.sqrt(shape[1])
            else:
                raise SystemExit(f"init_weights: unexpected parameter {name} {shape}")
            p.copy_(v.to(p.dtype))


def rope_theta_of(cfg):
    rp = getattr(cfg, "rope_parameters", None)
    if isinstance(rp, dict) and "rope_theta" in rp:
        return float(rp["rope_theta"])
    return float(cfg.rope_theta)


# ---- float64 patches -------------------------------------------------------

_orig_softmax = torch.nn.functional.softmax


def _softmax64(input, dim=None, _stacklevel=3, dtype=None):
    if input.dtype == torch.float64 and dtype == torch.float32:
        dtype = torch.float64
    return _orig_softmax(input, dim=dim, dtype=dtype)


torch.nn.functional.softmax = _softmax64


def patch_float64(model, theta, head_dim):
    """Make RMSNorm and RoPE compute in float64 for float64 inputs. Returns counts."""
    n_norm = n_rope = 0
    for mod in model.modules():
        cname = type(mod).__name__
        if cname.endswith("RMSNorm"):
            orig = mod.forward
            eps = getattr(mod, "variance_epsilon", getattr(mod, "eps", None))

            def fwd(self, hs, _orig=orig, _eps=eps):
                if hs.dtype != torch.float64:
                    return _orig(hs)
                var = hs.pow(2).mean(-1, keepdim=True)
                return self.weight * (hs * torch.rsqrt(var + _eps))

            mod.forward = types.MethodType(fwd, mod)
            n_norm += 1
        elif cname.endswith("RotaryEmbedding"):
            rtype = getattr(mod, "rope_type", "default")
            scale = getattr(mod, "attention_scaling", 1.0)
            if rtype != "default" or scale != 1.0:
                raise SystemExit(f"unexpected rope type {rtype} scaling {scale}")
            orig = mod.forward

            def rfwd(self, x, position_ids, *a, _orig=orig, **k):
                if x.dtype != torch.float64:
                    return _orig(x, position_ids, *a, **k)
                inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64, device=x.device) / head_dim))
                freqs = position_ids[:, :, None].to(torch.float64) * inv[None, None, :]
                emb = torch.cat((freqs, freqs), dim=-1)
                return emb.cos(), emb.sin()

            mod.forward = types.MethodType(rfwd, mod)
            n_rope += 1
    return n_norm, n_rope


# ---- independent float64 forward --------------------------------------------


def reference_forward(W, spec, theta, eps, ids):
    """Plain float64 decoder forward from the safetensors weights; returns logits [T, V]."""
    c = spec["config"]
    nh, nkv, hd, L = c["num_attention_heads"], c["num_key_value_heads"], spec["head_dim"], c["num_hidden_layers"]
    W = {k: v.to(torch.float64) for k, v in W.items()}
    T = len(ids)
    x = W["model.embed_tokens.weight"][torch.tensor(ids)]
    pos = torch.arange(T, dtype=torch.float64)
    inv = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    ang = pos[:, None] * inv[None, :]
    cos = torch.cat((ang.cos(), ang.cos()), -1)[:, None, :]
    sin = torch.cat((ang.sin(), ang.sin()), -1)[:, None, :]

    def rms(v, w):
        return w * (v * torch.rsqrt(v.pow(2).mean(-1, keepdim=True) + eps))

    def rope(v):
        v1, v2 = v[..., : hd // 2], v[..., hd // 2 :]
        return v * cos + torch.cat((-v2, v1), -1) * sin

    def lin(v, name):
        y = v @ W[name + ".weight"].T
        if name + ".bias" in W:
            y = y + W[name + ".bias"]
        return y

    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
    for i in range(L):
        p = f"model.layers.{i}."
        h = rms(x, W[p + "input_layernorm.weight"])
        q = rope(lin(h, p + "self_attn.q_proj").view(T, nh, hd))
        k = rope(lin(h, p + "self_attn.k_proj").view(T, nkv, hd))
        v = lin(h, p + "self_attn.v_proj").view(T, nkv, hd)
        k = k.repeat_interleave(nh // nkv, dim=1)
        v = v.repeat_interleave(nh // nkv, dim=1)
        s = torch.einsum("qhd,khd->hqk", q, k) / math.sqrt(hd)
        s = s.masked_fill(mask, float("-inf"))
        a = torch.softmax(s, -1)
        o = torch.einsum("hqk,khd->qhd", a, v).reshape(T, nh * hd)
        x = x + lin(o, p + "self_attn.o_proj")
        h = rms(x, W[p + "post_attention_layernorm.weight"])
        g = lin(h, p + "mlp.gate_proj")
        u = lin(h, p + "mlp.up_proj")
        x = x + lin(torch.nn.functional.silu(g) * u, p + "mlp.down_proj")
    x = rms(x, W["model.norm.weight"])
    head = W.get("lm_head.weight", W["model.embed_tokens.weight"])
    return x @ head.T


# ---- helpers ----------------------------------------------------------------


def load_model(cls, folder, dtype, device="cpu"):
    try:
        m = cls.from_pretrained(folder, dtype=dtype, attn_implementation="eager")
    except TypeError:
        m = cls.from_pretrained(folder, torch_dtype=dtype, attn_implementation="eager")
    m = m.to(device=device, dtype=dtype)
    m.eval()
    impl = getattr(m.config, "_attn_implementation", None)
    if impl != "eager":
        problem(f"{folder}: attention implementation is {impl}, not eager")
    return m


def check_exact_weights(model, folder):
    """Every tensor in the file equals the model's parameter, bit for bit after widening."""
    sd = model.state_dict()
    file = load_file(os.path.join(folder, "model.safetensors"))
    for name, t in file.items():
        if name not in sd:
            problem(f"{folder}: file tensor {name} not in model")
            continue
        if not torch.equal(sd[name].detach().cpu().to(torch.float64), t.to(torch.float64)):
            problem(f"{folder}: parameter {name} differs from the stored weights")
    for name in sd:
        if name not in file and name != "lm_head.weight" and "rotary" not in name:
            problem(f"{folder}: model tensor {name} missing from file")
    return file


@torch.no_grad()
def logits_of(model, ids):
    dev = next(model.parameters()).device
    out = model(input_ids=torch.tensor([ids], device=dev), use_cache=False)
    return out.logits[0]


@torch.no_grad()
def greedy(model, ids, n):
    """n argmax steps by full forward passes; returns tokens, chosen-step logits, min margin."""
    seq = list(ids)
    toks, rows, margin = [], [], float("inf")
    for _ in range(n):
        lg = logits_of(model, seq)[-1]
        top = torch.topk(lg.to(torch.float64), 2).values
        margin = min(margin, float(top[0] - top[1]))
        t = int(torch.argmax(lg))
        toks.append(t)
        rows.append(lg.detach().cpu())
        seq.append(t)
    return toks, torch.stack(rows), margin


@torch.no_grad()
def generate_tokens(model, ids, n):
    dev = next(model.parameters()).device
    inp = torch.tensor([ids], device=dev)
    try:
        model.generation_config.eos_token_id = None
    except Exception as e:  # noqa: BLE001 - informative only
        print("note: could not clear generation eos:", e)
    out = model.generate(
        input_ids=inp,
        attention_mask=torch.ones_like(inp),
        max_new_tokens=n,
        do_sample=False,
        num_beams=1,
        pad_token_id=0,
    )
    return out[0, len(ids):].tolist()


def set_bf16_dtype(folder):
    path = os.path.join(folder, "config.json")
    with open(path) as f:
        j = json.load(f)
    keys = [k for k in ("dtype", "torch_dtype") if k in j]
    if not keys:
        keys = ["torch_dtype"]
    changed = False
    for k in keys:
        if j.get(k) != "bfloat16":
            print(f"note: {path}: setting {k} = bfloat16 (was {j.get(k)!r})")
            j[k] = "bfloat16"
            changed = True
    if not changed:
        return
    with open(path, "w") as f:
        json.dump(j, f, indent=2, sort_keys=True)
        f.write("\n")


def f32c(t):
    return t.detach().cpu().to(torch.float32).contiguous()


def build(name, spec, out, cuda):
    print(f"== {name}", flush=True)
    cfg_cls = getattr(transformers, spec["cfg_cls"])
    cls = getattr(transformers, spec["cls"])
    cfg = cfg_cls(**spec["config"])
    c = spec["config"]
    theta = rope_theta_of(cfg)
    if theta != c["rope_theta"]:
        problem(f"{name}: config rope theta {theta}, want {c['rope_theta']}")
    torch.manual_seed(spec["weight_seed"])
    model = cls(cfg).to(torch.float32)
    init_weights(model, spec["weight_seed"], c["hidden_size"], spec["embed_std"])
    tied = model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    if tied != c["tie_word_embeddings"]:
        problem(f"{name}: lm_head tied={tied}, want {c['tie_word_embeddings']}")
    has_bias = model.model.layers[0].self_attn.q_proj.bias is not None
    if has_bias != spec["qkv_bias"]:
        problem(f"{name}: q_proj bias present={has_bias}, want {spec['qkv_bias']}")

    root = os.path.join(out, name)
    shutil.rmtree(root, ignore_errors=True)
    d32, d16 = os.path.join(root, "f32"), os.path.join(root, "bf16")
    model.save_pretrained(d32)
    copy.deepcopy(model).to(torch.bfloat16).save_pretrained(d16)
    set_bf16_dtype(d16)
    for d in (d32, d16):
        for f in os.listdir(d):
            print(f"   {d}/{f}: {os.path.getsize(os.path.join(d, f))} bytes")
        if not os.path.exists(os.path.join(d, "model.safetensors")):
            raise SystemExit(f"{d}: no model.safetensors written")

    eps = c["rms_norm_eps"]
    hd = spec["head_dim"]
    m32 = load_model(cls, d32, torch.float64)
    w32 = check_exact_weights(m32, d32)
    m16 = load_model(cls, d16, torch.float64)
    w16 = check_exact_weights(m16, d16)
    eos = c["eos_token_id"] if isinstance(c["eos_token_id"], list) else [c["eos_token_id"]]

    # Unpatched float64 logits on a fixed probe, to record what the float32 islands cost.
    probe = [1] + list(range(3, 3 + PROMPT_LEN - 1))
    unpatched = logits_of(m32, probe)
    counts = patch_float64(m32, theta, hd), patch_float64(m16, theta, hd)
    print(f"   patched (norms, ropes): {counts}")
    patched_gap = float((logits_of(m32, probe) - unpatched).abs().max())

    g = torch.Generator().manual_seed(spec["prompt_seed"])
    for attempt in range(MAX_PROMPT_TRIES):
        prompt = [1] + torch.randint(4, c["vocab_size"], (PROMPT_LEN - 1,), generator=g).tolist()
        t32, r32, mg32 = greedy(m32, prompt, NEW_TOKENS)
        t16, r16, mg16 = greedy(m16, prompt, NEW_TOKENS)
        bad_eos = any(t in eos for t in t32 + t16)
        distinct = min(len(set(t32)), len(set(t16)))
        if min(mg32, mg16) >= MIN_MARGIN and not bad_eos and distinct >= MIN_DISTINCT:
            break
        print(f"   prompt attempt {attempt}: margins {mg32:.2e} {mg16:.2e} eos {bad_eos} distinct {distinct}: redraw")
    else:
        raise SystemExit(f"{name}: no prompt with margin >= {MIN_MARGIN} in {MAX_PROMPT_TRIES} tries")
    print(f"   prompt after {attempt + 1} draw(s); margins f32 {mg32:.4f} bf16 {mg16:.4f}")

    tensors, info = {}, {}
    for tag, m, w, toks, rows, mg in (("f32", m32, w32, t32, r32, mg32), ("bf16", m16, w16, t16, r16, mg16)):
        hooks, hidden = [], {}

        def grab(key):
            def hook(_mod, _inp, outp):
                hidden[key] = outp[0] if isinstance(outp, tuple) else outp
            return hook

        if tag == "f32":
            hooks.append(m.model.embed_tokens.register_forward_hook(grab("embed")))
            for i, layer in enumerate(m.model.layers):
                hooks.append(layer.register_forward_hook(grab(f"layer.{i}")))
        lg = logits_of(m, prompt)
        for h in hooks:
            h.remove()
        ref = reference_forward(w, spec, theta, eps, prompt)
        ref_diff = float((lg.cpu() - ref).abs().max())
        if ref_diff > 1e-9:
            problem(f"{name}/{tag}: transformers float64 logits differ from the reference forward by {ref_diff:.3e}")
        gen = generate_tokens(m, prompt, NEW_TOKENS)
        if gen != toks:
            problem(f"{name}/{tag}: generate() gave {gen}, argmax loop gave {toks}")
        tensors[f"{tag}.logits"] = f32c(lg)
        if tag == "f32":
            tensors["f32.continuation_logits"] = f32c(rows)
            for k, v in hidden.items():
                if v.dim() == 3:
                    v = v[0]
                tensors[f"f32.hidden.{k}"] = f32c(v)
        info[tag] = dict(
            folder=tag,
            continuation=toks,
            min_margin=mg,
            generate_matches=gen == toks,
            max_abs_diff_vs_reference_forward=ref_diff,
            logits_abs_max=float(lg.abs().max()),
        )
    info["f32"]["max_abs_diff_stock_transformers_float64"] = patched_gap

    if cuda:
        mc = load_model(cls, d16, torch.bfloat16, device="cuda")
        lc = logits_of(mc, prompt)
        tensors["bf16.cuda_logits"] = f32c(lc)
        tc, _, mgc = greedy(mc, prompt, NEW_TOKENS)
        info["cuda_bf16"] = dict(
            device=torch.cuda.get_device_name(0),
            continuation_informative=tc,
            min_margin=mgc,
            max_abs_diff_vs_bf16_float64=float((lc.float().cpu() - tensors["bf16.logits"]).abs().max()),
        )
    else:
        info["cuda_bf16"] = dict(skipped="no CUDA device")

    save_file(tensors, os.path.join(root, "golden.safetensors"), metadata={"format": "sdtp-parity-golden/1"})
    doc = dict(
        format="sdtp-parity-golden/1",
        model=name,
        architecture=spec["cls"],
        prompt_ids=prompt,
        new_tokens=NEW_TOKENS,
        eos_token_ids=eos,
        config=dict(c, head_dim=hd),
        seeds=dict(weights=spec["weight_seed"], prompt=spec["prompt_seed"], prompt_draws=attempt + 1),
        min_margin_required=MIN_MARGIN,
        tensors={k: list(v.shape) for k, v in sorted(tensors.items())},
        versions=dict(
            python=platform.python_version(),
            torch=torch.__version__,
            transformers=transformers.__version__,
        ),
        generated_by="scripts/parity/make_goldens.py",
        **info,
    )
    with open(os.path.join(root, "golden.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(json.dumps({k: doc[k] for k in ("prompt_ids", "f32", "bf16", "cuda_bf16")}, indent=None))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="testdata/parity", help="output folder")
    ap.add_argument("--no-cuda", action="store_true", help="skip the CUDA bfloat16 logits")
    args = ap.parse_args()
    torch.set_num_threads(min(8, os.cpu_count() or 1))
    cuda = torch.cuda.is_available() and not args.no_cuda
    print(f"torch {torch.__version__} transformers {transformers.__version__} cuda {cuda}", flush=True)
    os.makedirs(args.out, exist_ok=True)
    for name, spec in MODELS.items():
        build(name, spec, args.out, cuda)
    total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(args.out) for f in fs)
    print(f"total {total} bytes under {args.out}")
    if PROBLEMS:
        print(f"{len(PROBLEMS)} PROBLEM(S):", *PROBLEMS, sep="\n  ")
        sys.exit(1)


if __name__ == "__main__":
    main()
