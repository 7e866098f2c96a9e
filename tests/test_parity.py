#!/usr/bin/env python3
"""Encoder parity with PyTorch: `affect embed` against tests/oracles/torch_ref.py.

For every family (BERT, BERT bare + gamma/beta, TinyBERT-like with head size 26, DistilBERT,
RoBERTa) and every weight format (safetensors F32/F16/BF16, torch zip, torch legacy) a tiny
random checkpoint is written (tests/oracles/make_fixtures.py) and
  1. `affect embed DIR --hidden` (mean and cls) runs on 20 texts of different lengths (two
     internal batches, so padding is exercised); every real-token hidden value and every
     pooled value must match the PyTorch reference (run on Hugging Face tokenizers' ids, as
     one differently padded batch) to max|d| <= 1e-4;
  2. tests/tools/embed_ids runs an explicit padded batch (padding rows, and for RoBERTa a pad
     id inside a real sequence) and ALL B*T*H values are compared, padding rows included;
  3. error paths (missing tensor, wrong shape, unknown model_type, corrupt weights, predict
     on a bare encoder) exit 2 with one line on stderr naming the problem and nothing on stdout.
"""
import json
import os
import shutil
import subprocess
import sys

SRC = os.environ.get("AFFECT_SRC", os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(SRC, "tests", "oracles"))

import torch  # noqa: E402
from make_fixtures import FORMATS, SPECS, make  # noqa: E402
from torch_ref import encode, pool  # noqa: E402

BIN = os.environ["AFFECT_BIN"]
TOOLS = os.environ.get("AFFECT_TOOLS", "")
SHARED = os.environ.get("AFFECT_SHARED", os.path.join(SRC, "..", "shared"))
TMP = os.path.join(os.environ.get("AFFECT_TEST_TMP", "/tmp/affect-test"), "parity")
TOL = 1e-4

TEXTS = [
    "I feel great today!",
    "",
    "The quick brown fox jumps over the lazy dog.",
    "Ugh. Monday again...",
    "I'm so grateful for my friends and family, they mean the world to me.",
    "ALL CAPS ANGER!!!",
    "a b c d e f g h i j k l m n o p q r s t",
    "Tokenization of unbelievably long words: antidisestablishmentarianism",
    "Numbers 12345 and 3.14159",
    "naïve café, déjà vu",
    "question?",
    "sad :(",
    "I can't believe it's not butter",
    "x",
    "Today I walked by the river and felt calm for the first time in weeks.",
    "worried about the exam tomorrow",
    "so angry at the delays, again and again and again",
    "thank you",
    "Nothing much happened.",
    "She laughed, and I laughed too; it was a good evening with old friends.",
]

# the Hugging Face tokenizer (Rust, via npm) that produces the oracle's ids for each fixture
TOKENIZER_JSON = {
    "bert": "bert-base-uncased", "bert-bare-gamma": "bert-base-uncased",
    "tinybert": "bert-base-uncased",  # TinyBERT ships vocab.txt only; same vocabulary
    "distilbert": "distilbert-base-uncased", "roberta": "roberta-base",
}

NODE_SCRIPT = r"""
const { createRequire } = require('module');
const req = createRequire(process.argv[1] + '/');
const { Tokenizer } = req('tokenizers');
const job = JSON.parse(require('fs').readFileSync(0, 'utf8'));
(async () => {
  const out = {};
  for (const [name, spec] of Object.entries(job)) {
    const tk = Tokenizer.fromFile(spec.path);
    if (spec.trunc) tk.setTruncation(spec.trunc);
    const rows = [];
    for (const t of spec.texts) rows.push(Array.from((await tk.encode(t)).getIds()));
    out[name] = rows;
  }
  process.stdout.write(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
"""

failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL:", msg)
    return cond


def oracle_ids(job):
    r = subprocess.run(["node", "-e", NODE_SCRIPT, os.path.join(SRC, "tests", "oracles", "node_modules")],
                       input=json.dumps(job), capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("node tokenizer oracle failed: " + r.stderr)
    return json.loads(r.stdout)


def pad_batch(rows, pad_id):
    T = max(len(r) for r in rows)
    ids = [r + [pad_id] * (T - len(r)) for r in rows]
    mask = [[1] * len(r) + [0] * (T - len(r)) for r in rows]
    return ids, mask


def run_embed(d, pool_how, extra=()):
    return subprocess.run([BIN, "embed", d, "--hidden", "--pool", pool_how, "--threads", "1", *extra],
                          input="\n".join(TEXTS) + "\n", capture_output=True, text=True)


def compare_cli(name, d, cfg, sd, ids_rows, pad_id, extra=()):
    """Returns (max hidden diff, max pooled diff) over both poolings."""
    ids, mask = pad_batch(ids_rows, pad_id)
    ref_h = encode(cfg, sd, ids, mask)
    worst_h = worst_p = 0.0
    for how in ("mean", "cls"):
        ref_p = pool(ref_h, mask, how)
        r = run_embed(d, how, extra)
        if not check(r.returncode == 0, f"{name} --pool {how}: exit {r.returncode}: {r.stderr.strip()}"):
            continue
        lines = r.stdout.splitlines()
        if not check(len(lines) == len(TEXTS), f"{name}: {len(lines)} output lines for {len(TEXTS)} texts"):
            continue
        for i, line in enumerate(lines):
            obj = json.loads(line)
            n = len(ids_rows[i])
            hid = torch.tensor(obj["hidden"], dtype=torch.float32)
            if not check(tuple(hid.shape) == (n, ref_h.shape[2]),
                         f"{name} text {i}: hidden shape {tuple(hid.shape)}, oracle tokenizer gives {n} tokens "
                         f"(tokenization mismatch?)"):
                continue
            worst_h = max(worst_h, (hid - ref_h[i, :n]).abs().max().item())
            worst_p = max(worst_p, (torch.tensor(obj["pooled"]) - ref_p[i]).abs().max().item())
    return worst_h, worst_p


def compare_tool(name, d, cfg, sd, ids, mask):
    """All B*T*H values, padding rows included, via tests/tools/embed_ids."""
    tool = os.path.join(TOOLS, "embed_ids")
    ref_h = encode(cfg, sd, ids, mask)
    worst = 0.0
    for how in ("mean", "cls"):
        r = subprocess.run([tool, d, how], input=json.dumps({"ids": ids, "mask": mask}),
                           capture_output=True, text=True)
        if not check(r.returncode == 0, f"{name} embed_ids {how}: {r.stderr.strip()}"):
            return None
        out = json.loads(r.stdout)
        hid = torch.tensor(out["hidden"]).view(out["B"], out["T"], out["H"])
        pooled = torch.tensor(out["pooled"]).view(out["B"], out["H"])
        worst = max(worst, (hid - ref_h).abs().max().item(),
                    (pooled - pool(ref_h, mask, how)).abs().max().item())
    return worst


def expect_error(name, argv, must_contain, stdin=""):
    r = subprocess.run(argv, input=stdin, capture_output=True, text=True)
    err = r.stderr.strip()
    check(r.returncode == 2, f"{name}: exit {r.returncode}, expected 2 (stderr: {err})")
    check(r.stdout == "", f"{name}: printed to stdout: {r.stdout[:200]!r}")
    check(err.count("\n") == 0 and err != "", f"{name}: expected one line on stderr, got {err!r}")
    for s in must_contain:
        check(s in err, f"{name}: stderr {err!r} does not mention {s!r}")
    print(f"  {name}: {err}")


def main():
    shutil.rmtree(TMP, ignore_errors=True)
    os.makedirs(TMP)
    job = {s: {"path": os.path.join(SHARED, "models", TOKENIZER_JSON[s], "tokenizer.json"), "texts": TEXTS}
           for s in SPECS}
    job["bert-trunc8"] = {"path": job["bert"]["path"], "texts": TEXTS, "trunc": 8}
    all_ids = oracle_ids(job)

    print(f"{'fixture':34s} {'max|dh|':>10s} {'max|dpool|':>10s}")
    for spec in SPECS:
        pad_id = 1 if SPECS[spec]["model_type"] == "roberta" else 0
        for fmt in FORMATS:
            d = os.path.join(TMP, f"{spec}-{fmt}")
            cfg, sd = make(spec, fmt, d)
            name = f"{spec}/{fmt}"
            wh, wp = compare_cli(name, d, cfg, sd, all_ids[spec], pad_id)
            print(f"{name:34s} {wh:10.3g} {wp:10.3g}")
            check(wh <= TOL and wp <= TOL, f"{name}: max|d| hidden {wh:.3g}, pooled {wp:.3g} > {TOL}")
            if fmt != "safetensors":
                shutil.rmtree(d)
        # explicit batches through the library, padding rows compared too
        d = os.path.join(TMP, f"{spec}-safetensors")
        cfg, sd = make(spec, "safetensors", d)
        rows = [r for r in all_ids[spec][:5]]
        if pad_id == 1:  # RoBERTa: a pad id inside a real sequence takes position padding_idx
            rows[0] = rows[0][:2] + [1] + rows[0][2:]
        ids, mask = pad_batch(rows, pad_id)
        w = compare_tool(f"{spec}/ids", d, cfg, sd, ids, mask)
        if w is not None:
            print(f"{spec + '/explicit ids, all rows':34s} {w:10.3g}")
            check(w <= TOL, f"{spec}/explicit ids: max|d| {w:.3g} > {TOL}")

    # --max-length plumbs through to truncation
    d = os.path.join(TMP, "bert-safetensors")
    cfg, sd = make("bert", "safetensors", d)
    wh, wp = compare_cli("bert --max-length 8", d, cfg, sd, all_ids["bert-trunc8"], 0, ["--max-length", "8"])
    print(f"{'bert/safetensors --max-length 8':34s} {wh:10.3g} {wp:10.3g}")
    check(wh <= TOL and wp <= TOL, f"bert --max-length 8: max|d| {wh:.3g} / {wp:.3g}")

    print("error paths:")
    bad = os.path.join(TMP, "bad")

    def fresh(mutate=None, fmt="safetensors", spec="bert"):
        shutil.rmtree(bad, ignore_errors=True)
        make(spec, fmt, bad, mutate)
        return bad

    def drop(cfg, sd):
        del sd["bert.encoder.layer.1.output.dense.bias"]
    expect_error("missing tensor", [BIN, "embed", fresh(drop), "hi"], ["bert.encoder.layer.1.output.dense.bias", "[32]"])

    def reshape(cfg, sd):
        sd["bert.encoder.layer.0.intermediate.dense.weight"] = torch.zeros(38, 32)
    expect_error("wrong shape", [BIN, "embed", fresh(reshape), "hi"],
                 ["bert.encoder.layer.0.intermediate.dense.weight", "[38, 32]", "[37, 32]"])

    def reshape_distil(cfg, sd):
        sd["distilbert.transformer.layer.1.ffn.lin1.weight"] = torch.zeros(48, 31)
    expect_error("wrong shape (distilbert)", [BIN, "embed", fresh(reshape_distil, spec="distilbert"), "hi"],
                 ["distilbert.transformer.layer.1.ffn.lin1.weight", "[48, 31]", "[48, 32]"])

    def gpt2(cfg, sd):
        cfg["model_type"] = "gpt2"
    expect_error("unknown model_type", [BIN, "embed", fresh(gpt2), "hi"], ["gpt2"])

    def bad_heads(cfg, sd):
        cfg["num_attention_heads"] = 5
    expect_error("hidden not divisible by heads", [BIN, "embed", fresh(bad_heads), "hi"], ["divisible"])

    for fmt, fname in (("safetensors", "model.safetensors"), ("zip", "pytorch_model.bin"),
                       ("legacy", "pytorch_model.bin")):
        p = os.path.join(fresh(fmt=fmt), fname)
        size = os.path.getsize(p)
        with open(p, "r+b") as f:
            f.truncate(size // 2)
        expect_error(f"corrupt {fmt}", [BIN, "embed", bad, "hi"], [fname])
    expect_error("predict on a bare encoder", [BIN, "predict", os.path.join(TMP, "bert-safetensors"), "hi"],
                 ["bare encoder", "affect train"])

    shutil.rmtree(TMP, ignore_errors=True)
    if failures:
        print(f"\n{len(failures)} failure(s)")
        sys.exit(1)
    print("\nall parity checks passed")


if __name__ == "__main__":
    main()
