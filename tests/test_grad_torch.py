#!/usr/bin/env python3
"""Gradients of the EmotionModel training step against torch.autograd (issue 3, oracle 1).

For each tiny random model (BERT, a TinyBERT-like BERT with head size 26, DistilBERT,
RoBERTa; vocabulary 200, 2 layers) and a padded batch of 6 rows of different lengths, one
micro-step of src/train/train_step.c (tests/tools/grad_dump) is compared with float64
torch.autograd of tests/oracles/emotion_ref.py, for
    bce       BCE with pos_weight, mean pooling
    bce+l1    BCE + 0.7·L1, intensity targets on some rows only, emotion targets missing on one
    bce+ms    BCE + 0.5·multi-similarity (first-token pooling, to cover that backward too)
    frozen    BCE + L1 + MS with the encoder frozen: heads' gradients match, the encoder's are
              exactly 0 (never computed)
Every gradient element of every tensor (encoder and heads) must satisfy
|ours - torch64| <= 1e-3·|torch64| + 1e-6·max(1, max|torch64 tensor|) (emotion_ref.isclose_report
says why the absolute floor follows the tensor's scale), and the loss must agree to 1e-5
relative. Printed per case: the worst tensor relative error max|d|/max|ref| of ours and, as a
calibration, of PyTorch's own float32 autograd on the same inputs.
"""
import json
import os
import subprocess
import sys

SRC = os.environ.get("AFFECT_SRC", os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(SRC, "tests", "oracles"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from emotion_ref import isclose_report, loss_terms, make_batch, make_model, read_records, write_model  # noqa: E402

TOOLS = os.environ.get("AFFECT_TOOLS", "")
TMP = os.path.join(os.environ.get("AFFECT_TEST_TMP", "/tmp/affect-test"), "grad_torch")
TOOL = os.path.join(TOOLS, "grad_dump")
RTOL, ATOL = 1e-3, 1e-6
L = 5
failures = []


def check(name, ok, detail):
    print(("ok   " if ok else "FAIL ") + name + ": " + detail)
    if not ok:
        failures.append(name)


CASES = {
    "bce": dict(pool="mean", w_int=0.0, w_ms=0.0, freeze=0, pos_weight=[1.0, 2.5, 0.5, 4.0, 1.5]),
    "bce+l1": dict(pool="mean", w_int=0.7, w_ms=0.0, freeze=0, pos_weight=None,
                   label_rows=[1, 1, 0, 1, 1, 1], int_rows=[1, 0, 1, 0, 0, 1]),
    "bce+ms": dict(pool="cls", w_int=0.0, w_ms=0.5, freeze=0, pos_weight=None),
    "frozen": dict(pool="mean", w_int=0.3, w_ms=0.5, freeze=1, pos_weight=[2.0, 1.0, 1.0, 3.0, 1.0],
                   label_rows=[1, 1, 1, 1, 0, 1], int_rows=[0, 1, 1, 0, 1, 1]),
}
LENS = [12, 9, 2, 12, 5, 7]  # padding in every row but two

if not os.path.exists(TOOL):
    print(f"FAIL: {TOOL} not built (set AFFECT_TOOLS)")
    sys.exit(1)
os.makedirs(TMP, exist_ok=True)
worst_all = 0.0
for spec in ["bert", "tinybert", "distilbert", "roberta"]:
    cfg, sd = make_model(spec, V=200, L=L, seed=3)
    mdir = os.path.join(TMP, spec)
    write_model(mdir, cfg, sd)
    rng = np.random.default_rng(7)
    for case, c in CASES.items():
        batch = make_batch(cfg, rng, LENS, L, c.get("label_rows"), c.get("int_rows"))
        opts = {k: c[k] for k in ("pool", "w_int", "w_ms", "freeze", "pos_weight")}
        job = os.path.join(TMP, f"{spec}-{case}.json")
        out = os.path.join(TMP, f"{spec}-{case}.bin")
        with open(job, "w") as f:
            json.dump({"opts": opts, "batches": [batch]}, f)
        r = subprocess.run([TOOL, "grad", mdir, job, out], capture_output=True, text=True)
        if r.returncode != 0:
            check(f"{spec} {case}", False, "grad_dump failed: " + r.stderr.strip())
            continue
        got = read_records(out)
        params = {}
        for k, v in sd.items():
            t = v.to(torch.float64)
            params[k] = t.requires_grad_(not (c["freeze"] and not k.startswith("heads.")))
        loss, parts = loss_terms(cfg, params, batch, opts, torch.float64)
        loss.backward()
        p32 = {k: v.clone().requires_grad_(True) for k, v in sd.items()}
        loss_terms(cfg, p32, batch, opts, torch.float32)[0].backward()
        lc = got["loss"]
        lrel = abs(lc[0] - loss.item()) / abs(loss.item())
        check(f"{spec} {case} loss", lrel <= 1e-5 and (c["w_ms"] == 0 or lc[4] == 1),
              f"ours {lc[0]:.8g} torch {loss.item():.8g} (bce {parts[0]:.5g} l1 {parts[1]:.5g} "
              f"ms {parts[2]:.5g}) rel {lrel:.2g}")
        bad, worst, worst_name, n_el, zero_enc, worst32 = [], 0.0, "", 0, True, 0.0
        for name, v in sd.items():
            if name not in got:
                bad.append(name + " (missing)")
                continue
            g = got[name]
            ref = params[name].grad
            if ref is None:
                zero_enc = zero_enc and not np.any(g)
                continue
            ref = ref.numpy().reshape(-1)
            n_el += ref.size
            ok, rel, dmax = isclose_report(g, ref, RTOL, ATOL)
            worst32 = max(worst32, isclose_report(p32[name].grad.double().numpy().reshape(-1), ref, RTOL, ATOL)[1])
            if not ok:
                i = int(np.argmax(np.abs(g - ref) - RTOL * np.abs(ref)))
                bad.append(f"{name}[{i}] ours {g[i]:.6g} torch {ref[i]:.6g}")
            if rel > worst:
                worst, worst_name = rel, name
        if len(got) - 1 != len(sd):
            bad.append(f"{len(got) - 1} tensors dumped, {len(sd)} expected")
        if c["freeze"] and not zero_enc:
            bad.append("frozen encoder has nonzero gradients")
        worst_all = max(worst_all, worst)
        check(f"{spec} {case} gradients", not bad,
              f"{n_el} elements, max tensor rel err {worst:.2g} ({worst_name}); torch float32: {worst32:.2g}" + ("; " + "; ".join(bad[:4]) if bad else ""))

# Dropout (p > 0) has no torch oracle here (torch draws other masks); check that it is on,
# repeatable (masks regenerated from the counter RNG, not stored) and finite.
cfg, sd = make_model("bert", V=200, L=L, seed=3)
batch = make_batch(cfg, np.random.default_rng(7), LENS, L)
base = dict(pool="mean", w_int=0.3, w_ms=0.5, freeze=0, pos_weight=None)
res = []
for i, (hd, ad) in enumerate([(0.0, 0.0), (0.2, 0.1), (0.2, 0.1)]):
    job = os.path.join(TMP, f"dropout-{i}.json")
    out = os.path.join(TMP, f"dropout-{i}.bin")
    with open(job, "w") as f:
        json.dump({"opts": dict(base, hidden_dropout=hd, attn_dropout=ad, seed=5), "batches": [batch]}, f)
    r = subprocess.run([TOOL, "grad", os.path.join(TMP, "bert"), job, out], capture_output=True, text=True)
    res.append(read_records(out) if r.returncode == 0 else None)
ok = all(x is not None for x in res)
if ok:
    same = all(np.array_equal(res[1][k], res[2][k]) for k in res[1])
    finite = all(np.all(np.isfinite(v)) for v in res[1].values())
    differs = abs(res[1]["loss"][0] - res[0]["loss"][0]) > 1e-4
    ok = same and finite and differs
    detail = f"loss without/with dropout {res[0]['loss'][0]:.6g}/{res[1]['loss'][0]:.6g}, repeat identical: {same}"
else:
    detail = "grad_dump failed"
check("dropout on, repeatable, finite", ok, detail)

print(f"max relative gradient error over all cases: {worst_all:.3g}")
if failures:
    print(f"{len(failures)} check(s) failed: {', '.join(failures)}")
    sys.exit(1)
print("all gradient checks passed")
