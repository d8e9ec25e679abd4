#!/usr/bin/env python3
"""Pretrain sdtp's proxy model: a small Qwen2 that reads an 8K context (issue 15, part 2).

No pretrained long-context weights can be downloaded where sdtp is developed, so this
makes one, from scratch, on one GPU, from text that exists offline on the GPU machine:
the Python sources and docs of its Python installation (standard library and
site-packages). It is test data for sdtp's quality evidence (docs/QUALITY.md), not
product; sdtp itself stays Go.

Steps, all deterministic by --seed (given --steps; see below):
  1. corpus   every .py/.pyi/.rst/.md/.txt file under the standard library and the
              site-packages folders, grouped by top-level package; whole packages are
              held out (ordered by a hash of their name, taken until --heldout-frac of
              the bytes, none larger than 2% of the corpus), the rest is training text.
  2. tokenizer byte-level BPE with Qwen2's pre-tokenizer regex, --vocab entries, trained
              with Hugging Face `tokenizers` on the training split only.
  3. RULER    `sdtp ruler export` (--sdtp, the binary built by scripts/build-gpu.sh) writes
              RULER-format samples with their answers for the new tokenizer, with seed
              --ruler-seed (evaluation uses RULER's 42, so no evaluated sample is trained on);
              each becomes prompt + " " + answers + end-of-text.
  4. training  a Qwen2ForCausalLM (transformers) from random init, bf16 autocast with
              float32 master weights, AdamW, warm-up then cosine decay; the first
              3/4 of the steps on --short-len sequences, the rest on --long-len (8K)
              sequences; --ruler-frac of the sequences start with a RULER sample (short
              lengths in the first stage, long in the second) and are filled with corpus
              text after it, the others are corpus text.
  5. output   an HF folder sdtp loads like any checkpoint: config.json,
              model.safetensors (bf16), tokenizer.json, tokenizer_config.json (no chat
              template: the proxy is a base model, RULER's base template applies), plus
              proxy.json (corpus statistics, training curve, timings, versions, sha256s),
              heldout.jsonl (held-out source files, for the lcc-style code task) and
              modtrain.jsonl ({"text"} rows from the training split, for 'sdtp train').

--steps 0 (default) times a few steps of each stage first and picks the number of steps
that fills --train-seconds; the number is recorded in proxy.json, and passing it as
--steps reproduces the model (up to the GPU's non-deterministic reductions).

Run on the GPU machine (see scripts/proxy/run.sh for the device call):
  python3 scripts/proxy/pretrain.py --sdtp .gpu/all/sdtp --out /tmp/proxy
"""

import argparse
import hashlib
import json
import math
import os
import platform
import random
import site
import subprocess
import sys
import sysconfig
import time

import numpy as np
import torch
import transformers
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

# Qwen2's pre-tokenizer split (tokenizer.json of Qwen2-0.5B), so sdtp's tokenizer reads
# the proxy's tokenizer through the same code path as Qwen2's.
QWEN2_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
EOT = "<|endoftext|>"
EXTENSIONS = (".py", ".pyi", ".rst", ".md", ".txt")
MAX_FILE_BYTES = 1 << 20
RULER_TASKS = ["niah_single_1", "niah_single_2", "niah_single_3", "niah_multikey_1", "niah_multikey_2",
               "niah_multikey_3", "niah_multivalue", "niah_multiquery", "vt", "cwe", "fwe"]


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def package_of(root, path):
    """The top-level package (or module) a file under root belongs to."""
    top = os.path.relpath(path, root).split(os.sep)[0]
    for suffix in (".py", ".pyi"):
        if top.endswith(suffix):
            top = top[: -len(suffix)]
    for suffix in (".dist-info", ".egg-info", ".data"):
        if top.endswith(suffix):
            top = top[: -len(suffix)].split("-")[0]
    return top.lower()


def collect(roots):
    """{package: [(relative path, text)]} of every readable text file under roots."""
    pkgs, seen = {}, set()
    for label, root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            rel_dir = os.path.relpath(dirpath, root)
            if label == "stdlib" and rel_dir.split(os.sep)[0] in ("site-packages", "dist-packages"):
                dirnames[:] = []
                continue
            for name in sorted(filenames):
                if not name.endswith(EXTENSIONS):
                    continue
                path = os.path.join(dirpath, name)
                try:
                    if os.path.getsize(path) > MAX_FILE_BYTES:
                        continue
                    with open(path, "rb") as f:
                        data = f.read()
                    text = data.decode("utf-8")
                except (OSError, UnicodeDecodeError):
                    continue
                if len(text.strip()) < 64:
                    continue
                digest = hashlib.sha256(data).digest()
                if digest in seen:  # the same file installed twice
                    continue
                seen.add(digest)
                pkg = label + ":" + package_of(root, path)
                pkgs.setdefault(pkg, []).append((os.path.join(label, os.path.relpath(path, root)), text))
    return pkgs


def split_packages(pkgs, frac, seed):
    """Held-out packages: in hash order, until frac of the bytes, each under 2% of all."""
    size = {p: sum(len(t) for _, t in files) for p, files in pkgs.items()}
    total = sum(size.values())
    order = sorted(pkgs, key=lambda p: hashlib.sha256(f"{seed}:{p}".encode()).hexdigest())
    held, got = set(), 0
    for p in order:
        if got >= frac * total:
            break
        if size[p] <= 0.02 * total:
            held.add(p)
            got += size[p]
    return held


def first_bytes(files, limit):
    """The texts of files, in order, until limit characters are reached, and their count."""
    texts, got = [], 0
    for *_, t in files:
        if got >= limit:
            break
        texts.append(t)
        got += len(t)
    return texts, got


def train_tokenizer(texts, vocab):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab,
        min_frequency=2,
        special_tokens=[EOT],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer, length=len(texts))
    return tok


def check_sdtp_tokenizer(sdtp, tok, tok_path, texts):
    """sdtp must read the new tokenizer exactly as `tokenizers` does (ids of held-out files)."""
    bad = 0
    for t in texts:
        r = subprocess.run([sdtp, "tokenize", "--tokenizer", tok_path], input=t, capture_output=True, text=True, check=True)
        got = [int(v) for v in r.stdout.replace(",", " ").split()]
        if got != tok.encode(t, add_special_tokens=False).ids:
            bad += 1
    log(f"sdtp tokenizes {len(texts) - bad} of {len(texts)} held-out files as tokenizers does")
    if bad:  # a bug in sdtp's tokenizer, to fix there: the model is worth finishing
        log("WARNING: sdtp reads the proxy tokenizer differently from tokenizers")
    return bad


def encode_stream(tok, texts, eot):
    """All texts tokenized, each followed by the end-of-text id, as one uint16 array."""
    parts = []
    for i in range(0, len(texts), 4096):
        for enc in tok.encode_batch(texts[i : i + 4096], add_special_tokens=False):
            parts.append(np.asarray(enc.ids, dtype=np.uint16))
            parts.append(np.asarray([eot], dtype=np.uint16))
    return np.concatenate(parts)


def ruler_samples(a, tok_path, lengths, samples):
    """RULER-format samples with answers, from sdtp's generator, per task and length
    (a task too long for a length is left out of it, and said)."""
    rows = []
    for task in RULER_TASKS:
        for length in lengths:
            out = os.path.join(a.out, f"ruler-{task}-{length}.jsonl")
            cmd = [a.sdtp, "ruler", "export", "--tokenizer", tok_path, "--out", out, "--tasks", task,
                   "--lengths", str(length), "--samples", str(samples), "--seed", str(a.ruler_seed),
                   "--chat-template", "none"]
            r = subprocess.run(cmd, stderr=subprocess.PIPE, text=True)
            if r.returncode != 0:
                tail = r.stderr.strip().splitlines()
                log(f"RULER {task} at {length}: left out: {tail[-1] if tail else f'exit {r.returncode}'}")
                continue
            rows += [json.loads(line) for line in open(out)]
            os.remove(out)
    return rows


def ruler_sequences(tok, rows, eot):
    """Each sample as prompt + ' ' + answers + end-of-text, tokenized (no BOS: the proxy has none)."""
    texts = [r["prompt"] + " " + ", ".join(r["outputs"]) + "." for r in rows]
    return [np.asarray(e.ids + [eot], dtype=np.uint16) for e in tok.encode_batch(texts, add_special_tokens=False)]


LCC_PROMPT = "Please complete the code given below. \n{context}Next line of code:\n"


class Batches:
    """Deterministic training batches: corpus windows, some led by a RULER sample, some
    by a next-line sample in LongBench lcc's prompt format (from training files)."""

    def __init__(self, stream, ruler_short, ruler_long, frac, seed, tok=None, code=(), lcc_frac=0.0):
        self.stream, self.frac = stream, frac
        self.ruler = {"short": ruler_short, "long": ruler_long}
        self.next_ruler = {"short": 0, "long": 0}
        self.rng = random.Random(seed)
        self.tok, self.code, self.lcc_frac = tok, code, lcc_frac

    def lcc(self, n):
        """A training file cut before a random non-blank line: the prompt with the
        file's tail that fits n tokens, then the line."""
        lines = self.code[self.rng.randrange(len(self.code))].split("\n")
        cands = [i for i in range(len(lines) // 4, len(lines)) if len(lines[i].strip()) >= 8]
        if not cands:
            return None
        k = self.rng.choice(cands)
        head = self.tok.encode("Please complete the code given below. \n", add_special_tokens=False).ids
        tail = self.tok.encode("Next line of code:\n" + lines[k] + "\n", add_special_tokens=False).ids
        ctx = self.tok.encode("\n".join(lines[:k]) + "\n", add_special_tokens=False).ids
        room = n + 1 - len(head) - len(tail) - 1
        if room < 64:
            return None
        return np.asarray(head + ctx[-room:] + tail + [self.tok.token_to_id(EOT)], dtype=np.int64)

    def sequence(self, n, stage):
        start = self.rng.randrange(0, len(self.stream) - n - 1)
        seq = self.stream[start : start + n + 1].astype(np.int64)
        pool = self.ruler[stage]
        u = self.rng.random()
        s = None
        if pool and u < self.frac:
            s = pool[self.next_ruler[stage] % len(pool)][: n + 1]
            self.next_ruler[stage] += 1
        elif self.code and u < self.frac + self.lcc_frac:
            s = self.lcc(n)
        if s is not None:
            seq = np.concatenate([s, seq[: n + 1 - len(s)]])
        return seq

    def batch(self, b, n, stage):
        x = torch.from_numpy(np.stack([self.sequence(n, stage) for _ in range(b)]))
        return x[:, :-1], x[:, 1:]


def make_model(a, vocab, eot, seed):
    torch.manual_seed(seed)
    cfg = transformers.Qwen2Config(
        vocab_size=vocab,
        hidden_size=a.hidden,
        intermediate_size=a.ffn,
        num_hidden_layers=a.layers,
        num_attention_heads=a.heads,
        num_key_value_heads=a.kv_heads,
        max_position_embeddings=a.positions,
        rope_theta=a.rope_theta,
        rms_norm_eps=1e-6,
        tie_word_embeddings=True,
        use_sliding_window=False,
        bos_token_id=eot,
        eos_token_id=eot,
    )
    model = transformers.Qwen2ForCausalLM(cfg).to(torch.float32)
    if hasattr(model, "set_attn_implementation"):
        model.set_attn_implementation("sdpa")  # flash attention through SDPA: no mask, causal
    return model.cuda()


def lr_at(step, steps, a):
    if step < a.warmup:
        return a.lr * (step + 1) / a.warmup
    p = (step - a.warmup) / max(1, steps - a.warmup)
    return a.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p)))


def stage_of(step, steps, a):
    if step < int(steps * a.short_frac):
        return "short", a.short_batch, a.short_len
    return "long", a.long_batch, a.long_len


def train_step(model, opt, x, y):
    with torch.autocast("cuda", dtype=torch.bfloat16):
        logits = model(input_ids=x.cuda(non_blocking=True), use_cache=False).logits
    loss = torch.nn.functional.cross_entropy(logits.float().view(-1, logits.size(-1)), y.cuda(non_blocking=True).reshape(-1))
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)
    return loss


def make_opt(model, a):
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    other = [p for n, p in model.named_parameters() if p.dim() < 2]
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.1}, {"params": other, "weight_decay": 0.0}],
        lr=a.lr, betas=(0.9, 0.95), eps=1e-8, fused=True,
    )


def time_stages(a, vocab, eot, batches):
    """Seconds per step of each stage, on a throw-away model (the real one starts fresh)."""
    model = make_model(a, vocab, eot, a.seed + 1)
    opt = make_opt(model, a)
    per = {}
    for stage, b, n in (("short", a.short_batch, a.short_len), ("long", a.long_batch, a.long_len)):
        for i in range(8):
            if i == 3:
                torch.cuda.synchronize()
                t = time.time()
            x, y = batches.batch(b, n, stage)
            train_step(model, opt, x, y)
        torch.cuda.synchronize()
        per[stage] = (time.time() - t) / 5
    del model, opt
    torch.cuda.empty_cache()
    return per


@torch.no_grad()
def heldout_loss(model, stream, n, count, seed):
    rng = random.Random(seed)
    losses = []
    for _ in range(count):
        s = rng.randrange(0, len(stream) - n - 1)
        x = torch.from_numpy(stream[s : s + n + 1].astype(np.int64))[None].cuda()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = model(input_ids=x[:, :-1], use_cache=False).logits
        losses.append(torch.nn.functional.cross_entropy(logits.float()[0], x[0, 1:]).item())
    return sum(losses) / len(losses)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_corpus_files(a, held_files, train_files):
    """heldout.jsonl (held-out files, for the lcc-style task) and modtrain.jsonl
    (long training-split files, for 'sdtp train') under a.out."""
    rows, got = [], 0
    for p, path, t in held_files:
        if got + len(t) > a.heldout_bytes:
            continue
        rows.append({"package": p, "path": path, "text": t})
        got += len(t)
    write_jsonl(os.path.join(a.out, "heldout.jsonl"), rows)
    rows, got = [], 0
    for p, path, t in train_files:
        if len(t) < 8192 or got + len(t) > a.modtrain_bytes:
            continue
        rows.append({"text": t})
        got += len(t)
    write_jsonl(os.path.join(a.out, "modtrain.jsonl"), rows)


def write_jsonl(path, rows):
    """Writes rows to path whole or not at all (a temporary file, then a rename)."""
    tmp = path + ".part"
    with open(tmp, "w") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="output folder (the HF model folder and proxy.json)")
    ap.add_argument("--sdtp", required=True, help="the sdtp binary, for 'sdtp ruler export'")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--steps", type=int, default=0, help="optimizer steps; 0: as many as fill --train-seconds")
    ap.add_argument("--train-seconds", type=float, default=330)
    ap.add_argument("--deadline", type=float, default=0,
                    help="seconds the whole script may take (0: no limit): bounds the steps chosen, and stops training "
                         "45 s before it if the steps run slow (then proxy.json says where)")
    ap.add_argument("--vocab", type=int, default=8192)
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--hidden", type=int, default=384)
    ap.add_argument("--ffn", type=int, default=1024)
    ap.add_argument("--heads", type=int, default=6)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--positions", type=int, default=16384)
    ap.add_argument("--rope-theta", type=float, default=500000.0)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=60)
    ap.add_argument("--short-len", type=int, default=2048)
    ap.add_argument("--short-batch", type=int, default=64)
    ap.add_argument("--long-len", type=int, default=8192)
    ap.add_argument("--long-batch", type=int, default=16)
    ap.add_argument("--short-frac", type=float, default=0.75, help="share of the steps on --short-len sequences")
    ap.add_argument("--ruler-frac", type=float, default=0.3, help="share of sequences led by a RULER sample")
    ap.add_argument("--lcc-frac", type=float, default=0.05, help="share of sequences led by an lcc-format next-line sample")
    ap.add_argument("--ruler-seed", type=int, default=1000)
    ap.add_argument("--heldout-frac", type=float, default=0.05)
    ap.add_argument("--train-bytes", type=int, default=600 << 20, help="cap on the training text tokenized")
    ap.add_argument("--tokenizer-bytes", type=int, default=64 << 20, help="training text the tokenizer is trained on")
    ap.add_argument("--heldout-bytes", type=int, default=12 << 20, help="cap on heldout.jsonl")
    ap.add_argument("--modtrain-bytes", type=int, default=8 << 20, help="cap on modtrain.jsonl")
    ap.add_argument("--corpus-only", action="store_true",
                    help="write heldout.jsonl and modtrain.jsonl (the same split, by --seed and --heldout-frac) and stop: "
                         "the texts of an existing proxy, e.g. testdata/proxy, which does not commit them")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    t0 = time.time()
    random.seed(a.seed)
    np.random.seed(a.seed)
    torch.backends.cuda.matmul.allow_tf32 = True

    roots = [("stdlib", sysconfig.get_paths()["stdlib"])]
    for p in sorted(set(site.getsitepackages() + [sysconfig.get_paths()["purelib"]])):
        if os.path.isdir(p):
            roots.append(("site", p))
    pkgs = collect(roots)
    held = split_packages(pkgs, a.heldout_frac, a.seed)
    train_files = [(p, path, t) for p in sorted(pkgs) if p not in held for path, t in pkgs[p]]
    held_files = [(p, path, t) for p in sorted(held) for path, t in pkgs[p]]
    random.Random(a.seed).shuffle(train_files)
    corpus = {
        "roots": [r for _, r in roots],
        "packages": len(pkgs),
        "heldout_packages": sorted(held),
        "train_files": len(train_files),
        "train_bytes": sum(len(t) for *_, t in train_files),
        "heldout_files": len(held_files),
        "heldout_bytes": sum(len(t) for *_, t in held_files),
    }
    log(f"corpus: {corpus['train_files']} training files ({corpus['train_bytes'] / 1e6:.0f} MB), "
        f"{corpus['heldout_files']} held out ({corpus['heldout_bytes'] / 1e6:.1f} MB) in {len(held)} packages")
    if a.corpus_only:
        write_corpus_files(a, held_files, train_files)
        log(f"wrote {a.out}/heldout.jsonl and modtrain.jsonl")
        return 0

    sample, got = first_bytes(train_files, a.tokenizer_bytes)
    tok = train_tokenizer(sample, a.vocab)
    eot = tok.token_to_id(EOT)
    tok_path = os.path.join(a.out, "tokenizer.json")
    tok.save(tok_path)
    log(f"tokenizer: {tok.get_vocab_size()} entries from {got / 1e6:.0f} MB")
    tokenizer_mismatches = check_sdtp_tokenizer(a.sdtp, tok, tok_path, [t for _, _, t in held_files[:50]])

    texts, got = first_bytes(train_files, a.train_bytes)
    stream = encode_stream(tok, texts, eot)
    held_stream = encode_stream(tok, [t for *_, t in held_files], eot)
    corpus["train_tokens"] = int(len(stream))
    corpus["heldout_tokens"] = int(len(held_stream))
    corpus["train_bytes_tokenized"] = got
    corpus["bytes_per_token"] = got / max(1, len(stream))
    log(f"tokens: {len(stream) / 1e6:.1f}M training, {len(held_stream) / 1e6:.2f}M held out")

    # Enough RULER samples for the steps at most --train-seconds could hold.
    short_rows = ruler_samples(a, tok_path, [1024, 2048], 400)
    if not short_rows:
        raise SystemExit("sdtp ruler export made no samples with the proxy tokenizer")
    long_rows = ruler_samples(a, tok_path, [4096, 8192], 40)
    rng = random.Random(a.seed)
    rng.shuffle(short_rows)
    rng.shuffle(long_rows)
    ruler_short = ruler_sequences(tok, short_rows, eot)
    ruler_long = ruler_sequences(tok, long_rows, eot)
    log(f"RULER: {len(ruler_short)} short and {len(ruler_long)} long training samples (seed {a.ruler_seed})")

    code = [t for _, path, t in train_files if path.endswith(".py") and 4096 <= len(t) <= 65536]
    timing = None
    steps = a.steps
    budget = a.train_seconds
    if a.deadline > 0:  # what is left of the whole run's time, less saving and the checks after
        budget = min(budget, a.deadline - (time.time() - t0) - 60)
    if steps == 0:
        timing = time_stages(a, tok.get_vocab_size(), eot,
                             Batches(stream, ruler_short, ruler_long, a.ruler_frac, a.seed + 7, tok, code, a.lcc_frac))
        per_step = a.short_frac * timing["short"] + (1 - a.short_frac) * timing["long"]
        budget -= 2 * 16 * per_step  # the timing itself, then a fresh model
        steps = max(a.warmup + 10, int(budget / per_step))
        log(f"timing: {timing['short']:.3f} s/step short, {timing['long']:.3f} s/step long: {steps} steps")

    batches = Batches(stream, ruler_short, ruler_long, a.ruler_frac, a.seed, tok, code, a.lcc_frac)
    model = make_model(a, tok.get_vocab_size(), eot, a.seed)
    opt = make_opt(model, a)
    params = sum(p.numel() for p in model.parameters())
    log(f"model: {params / 1e6:.1f}M parameters, attention {model.config._attn_implementation}")
    curve, tokens, t_train = [], 0, time.time()
    stopped = None
    for step in range(steps):
        if a.deadline > 0 and time.time() - t0 > a.deadline - 45:
            stopped = step  # the deadline wins over determinism; proxy.json says so
            log(f"WARNING: stopped at step {step} of {steps}: the --deadline is near")
            break
        stage, b, n = stage_of(step, steps, a)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, steps, a)
        x, y = batches.batch(b, n, stage)
        loss = train_step(model, opt, x, y)
        tokens += b * n
        if step % 25 == 0 or step == steps - 1:
            point = {"step": step, "stage": stage, "tokens": tokens, "loss": round(loss.item(), 4),
                     "lr": opt.param_groups[0]["lr"], "seconds": round(time.time() - t_train, 1)}
            if step % 100 == 0 or step == steps - 1:
                model.eval()
                point["heldout_loss_2k"] = round(heldout_loss(model, held_stream, 2048, 8, 3), 4)
                model.train()
            curve.append(point)
            log(json.dumps(point))
    train_seconds = time.time() - t_train
    model.eval()
    final = {"heldout_loss_2k": heldout_loss(model, held_stream, 2048, 32, 5),
             "heldout_loss_8k": heldout_loss(model, held_stream, 8192, 8, 6)}
    log(f"trained {steps if stopped is None else stopped} steps, {tokens / 1e6:.0f}M tokens in {train_seconds:.0f} s; "
        f"held-out {final}")

    model = model.to(torch.bfloat16)
    model.save_pretrained(a.out)  # safetensors, the tied classifier left out
    with open(os.path.join(a.out, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": None, "eos_token": EOT,
                   "pad_token": EOT, "unk_token": None, "add_bos_token": False,
                   "model_max_length": a.positions, "clean_up_tokenization_spaces": False}, f, indent=2)
        f.write("\n")
    if os.path.exists(os.path.join(a.out, "generation_config.json")):
        os.remove(os.path.join(a.out, "generation_config.json"))

    write_corpus_files(a, held_files, train_files)

    files = {name: {"bytes": os.path.getsize(os.path.join(a.out, name)), "sha256": sha256(os.path.join(a.out, name))}
             for name in sorted(os.listdir(a.out))
             if name != "proxy.json" and os.path.isfile(os.path.join(a.out, name))}
    meta = {
        "args": vars(a), "steps": steps, "stopped_at_step": stopped, "timing_s_per_step": timing, "parameters": params,
        "corpus": corpus, "curve": curve, "final": final, "train_seconds": round(train_seconds, 1),
        "total_seconds": round(time.time() - t0, 1), "tokens_trained": tokens,
        "ruler_training_samples": {"short": len(ruler_short), "long": len(ruler_long), "seed": a.ruler_seed},
        "files": files, "device": torch.cuda.get_device_name(0), "sdtp_tokenizer_mismatches_of_50": tokenizer_mismatches,
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "transformers": transformers.__version__, "tokenizers": __import__("tokenizers").__version__},
    }
    with open(os.path.join(a.out, "proxy.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    log(f"wrote {a.out} in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
