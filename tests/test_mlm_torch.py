#!/usr/bin/env python3
"""The masked-LM pretraining step against torch.autograd, and the masking recipe's rates.

1. Gradients. For tiny random BERT, DistilBERT and RoBERTa models (vocabulary 200) with a
   BertForMaskedLM-style head (cls.predictions: dense H->H, exact GELU, LayerNorm with the
   model's eps, decoder tied to the word embeddings plus its own bias), one micro-step of
   src/train/train_step.c (tests/tools/mlm_dump) on a padded batch: the loss and every
   gradient (encoder incl. the tied embeddings, and the head) against float64 autograd of
   the same computation written in PyTorch (F.cross_entropy, mean over the chosen
   positions), fed the corrupted ids and chosen positions our step used. Tolerance as in
   test_grad_torch.py. Accumulation (accum 2) must halve every gradient and not the loss.
2. Masking. On a 64x64 batch: no special id and no padding is ever chosen, the chosen
   fraction of eligible tokens is within 4 sigma of 0.15, and of the chosen ones 80% / 10%
   / 10% become [MASK] / another id / themselves (within 4 sigma of the binomial).
"""
import json
import os
import subprocess
import sys

SRC = os.environ.get("AFFECT_SRC", os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(SRC, "tests", "oracles"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from emotion_ref import encoder_forward, isclose_report, make_model, read_records, write_model  # noqa: E402

TOOL = os.path.join(os.environ.get("AFFECT_TOOLS", ""), "mlm_dump")
TMP = os.path.join(os.environ.get("AFFECT_TEST_TMP", "/tmp/affect-test"), "mlm_torch")
RTOL, ATOL = 1e-3, 1e-6
MLM = ["cls.predictions.transform.dense.weight", "cls.predictions.transform.dense.bias",
       "cls.predictions.transform.LayerNorm.weight", "cls.predictions.transform.LayerNorm.bias",
       "cls.predictions.bias"]
WTE = {"bert": "bert.", "distilbert": "distilbert.", "roberta": "roberta."}
failures = []


def check(name, ok, detail):
    print(("ok   " if ok else "FAIL ") + name + ": " + detail)
    if not ok:
        failures.append(name)


def run_tool(mdir, job, name):
    jp, op = os.path.join(TMP, name + ".json"), os.path.join(TMP, name + ".bin")
    with open(jp, "w") as f:
        json.dump(job, f)
    r = subprocess.run([TOOL, mdir, jp, op], capture_output=True, text=True)
    if r.returncode != 0:
        return None, r.stderr.strip()
    return read_records(op), ""


def specials(cfg):
    # [PAD]/[UNK]/[CLS]/[SEP]/[MASK] at 0..4 (BERT-style); RoBERTa: <s>=0 <pad>=1 </s>=2 <unk>=3 <mask>=4
    return [0, 1, 2, 3], 4


def batch(cfg, rng, lens):
    pad = 1 if cfg["model_type"] == "roberta" else 0
    cls, sep = (0, 2) if cfg["model_type"] == "roberta" else (2, 3)
    V, B, T = cfg["vocab_size"], len(lens), max(lens)
    ids = np.full((B, T), pad, np.int64)
    mask = np.zeros((B, T), np.int64)
    for b, n in enumerate(lens):
        ids[b, :n] = rng.integers(5, V, n)
        ids[b, 0], ids[b, n - 1] = cls, sep
        mask[b, :n] = 1
    return ids, mask


if not os.path.exists(TOOL):
    print(f"FAIL: {TOOL} not built (set AFFECT_TOOLS)")
    sys.exit(1)
os.makedirs(TMP, exist_ok=True)

for spec in ["bert", "distilbert", "roberta"]:
    cfg, sd = make_model(spec, V=200, L=3, seed=5)
    H, V = cfg.get("hidden_size", cfg.get("dim")), cfg["vocab_size"]
    eps = cfg.get("layer_norm_eps", 1e-12)
    g = torch.Generator().manual_seed(11)
    sd[MLM[0]] = torch.randn(H, H, generator=g) / H ** 0.5
    sd[MLM[1]] = torch.randn(H, generator=g) * 0.1
    sd[MLM[2]] = 1.0 + torch.randn(H, generator=g) * 0.1
    sd[MLM[3]] = torch.randn(H, generator=g) * 0.1
    sd[MLM[4]] = torch.randn(V, generator=g) * 0.1
    mdir = os.path.join(TMP, spec)
    write_model(mdir, cfg, sd)
    ids, mask = batch(cfg, np.random.default_rng(3), [16, 11, 4, 16, 9])
    sp, mask_id = specials(cfg)
    job = {"ids": ids.tolist(), "mask": mask.tolist(), "special": sp, "mask_id": mask_id,
           "probability": 0.3, "seed": 7, "accum": 1}
    got, why = run_tool(mdir, job, spec)
    if got is None:
        check(f"{spec} masked-LM step", False, "mlm_dump failed: " + why)
        continue
    got2, why2 = run_tool(mdir, dict(job, accum=2), spec + "-accum2")
    M = int(got["loss"][1])
    cids = got["ids"].astype(np.int64).reshape(ids.shape)
    pos, tgt = got["pos"].astype(np.int64), got["target"].astype(np.int64)
    ok_in = M > 0 and np.array_equal(ids.reshape(-1)[pos], tgt) and np.array_equal(
        np.delete(cids.reshape(-1), pos), np.delete(ids.reshape(-1), pos))
    check(f"{spec} masked inputs", ok_in, f"{M} positions chosen of {int(mask.sum())} tokens; "
          "targets are the original ids, unchosen ids unchanged")

    params = {k: v.to(torch.float64).requires_grad_(not k.startswith("heads.")) for k, v in sd.items()}
    hid = encoder_forward(cfg, params, cids, mask)
    sel = hid.reshape(-1, H)[torch.as_tensor(pos)]
    t = F.layer_norm(F.gelu(F.linear(sel, params[MLM[0]], params[MLM[1]])), (H,), params[MLM[2]],
                     params[MLM[3]], eps)
    wte = params[WTE[spec] + "embeddings.word_embeddings.weight"]
    loss = F.cross_entropy(F.linear(t, wte, params[MLM[4]]), torch.as_tensor(tgt))
    loss.backward()
    lrel = abs(got["loss"][0] - loss.item()) / abs(loss.item())
    check(f"{spec} loss", lrel <= 1e-5, f"ours {got['loss'][0]:.8g} torch {loss.item():.8g} rel {lrel:.2g}")
    bad, worst, n_el = [], 0.0, 0
    for name, p in params.items():
        if name.startswith("heads."):
            continue
        if name not in got:
            bad.append(name + " (missing)")
            continue
        ref = p.grad.numpy().reshape(-1) if p.grad is not None else np.zeros(p.numel())
        ok, rel, _ = isclose_report(got[name], ref, RTOL, ATOL)
        n_el += ref.size
        worst = max(worst, rel)
        if not ok:
            i = int(np.argmax(np.abs(got[name] - ref)))
            bad.append(f"{name}[{i}] ours {got[name][i]:.6g} torch {ref[i]:.6g}")
    check(f"{spec} gradients", not bad,
          f"{n_el} elements, max tensor rel err {worst:.2g}" + ("; " + "; ".join(bad[:4]) if bad else ""))
    if got2 is None:
        check(f"{spec} accumulation", False, "mlm_dump failed: " + why2)
    else:
        half = all(np.allclose(got2[k], 0.5 * got[k], rtol=1e-6, atol=1e-12) for k in got if k.startswith(("cls.", WTE[spec])))
        check(f"{spec} accumulation", half and got2["loss"][0] == got["loss"][0],
              "accum 2: every gradient halved, loss unchanged")

# The masking recipe's rates on a large batch (BERT ids).
cfg, sd = make_model("bert", V=200, L=3, seed=5)
ids, mask = batch(cfg, np.random.default_rng(9), [64] * 40 + [30] * 24)
sp, mask_id = specials(cfg)
got, why = run_tool(os.path.join(TMP, "bert"), {"ids": ids.tolist(), "mask": mask.tolist(), "special": sp,
                                                "mask_id": mask_id, "probability": 0.15, "seed": 3, "accum": 1},
                    "rates")
if got is None:
    check("masking rates", False, "mlm_dump failed: " + why)
else:
    flat, cflat = ids.reshape(-1), got["ids"].astype(np.int64)
    pos = got["pos"].astype(np.int64)
    eligible = (mask.reshape(-1) == 1) & ~np.isin(flat, sp)
    n, k = int(eligible.sum()), len(pos)
    never = bool(eligible[pos].all())
    frac = k / n
    sd_f = (0.15 * 0.85 / n) ** 0.5
    to_mask = float(np.mean(cflat[pos] == mask_id))
    kept = float(np.mean(cflat[pos] == flat[pos]))
    sd_k = lambda p: (p * (1 - p) / k) ** 0.5  # noqa: E731
    ok = (never and abs(frac - 0.15) <= 4 * sd_f and abs(to_mask - 0.8) <= 4 * sd_k(0.8)
          and abs(kept - (0.1 + 0.1 / 200)) <= 4 * sd_k(0.1))
    check("masking rates", ok, f"{k} of {n} eligible tokens chosen ({frac:.4f}, want 0.15 +- {4 * sd_f:.4f}); "
          f"[MASK] {to_mask:.3f} (0.8), unchanged {kept:.3f} (0.1); specials/padding never chosen: {never}")

if failures:
    print(f"{len(failures)} check(s) failed: {', '.join(failures)}")
    sys.exit(1)
print("all masked-LM checks passed")
