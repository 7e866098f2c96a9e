"""PyTorch twin of affect's EmotionModel training step (test oracle, never shipped).

Encoder: tests/oracles/torch_ref.py's Hugging Face forward passes, run on leaf tensors so
autograd sees every parameter (float64 for gradient checks, float32 for training runs).
Then masked-mean or first-token pooling, and the heads of src/train/heads.h:

    emotion    logits    = Linear(H,L)(GELU(Linear(H,H)(pooled)))
    intensity  intensity = Linear(H,1)(GELU(Linear(H,H)(pooled)))

Loss (src/train/train_step.h): BCE-with-logits (pos_weight, mean over elements with a
target) + w_int * L1 (mean over rows with an intensity target) + w_ms * multi-similarity
(pytorch-metric-learning's formula, mean over the labelled rows' post-GELU emotion-head
features, skipped below 4 labelled rows; pairs by label-set Jaccard > 0.15 / == 0).

Also: tiny random models in each family's key layout with a small vocabulary, writing them
as config.json + model.safetensors, and reading tests/tools/grad_dump.c's output.
"""
import json
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F

from make_fixtures import SPECS, config_for, write_safetensors
from torch_ref import PREFIX, _bert_like, _distilbert

HEAD_NAMES = ["heads.emotion.0.weight", "heads.emotion.0.bias", "heads.emotion.2.weight",
              "heads.emotion.2.bias", "heads.intensity.0.weight", "heads.intensity.0.bias",
              "heads.intensity.2.weight", "heads.intensity.2.bias"]


def make_model(spec, V=200, L=5, seed=0, emb_std=None):
    """(config dict, float32 state dict) for a tiny model of SPECS[spec] with vocabulary V,
    weights scaled as make_fixtures does (peaked attention, O(1) activations), plus heads.
    emb_std overrides the spec's embedding scale (make_fixtures uses 0.005 for some families
    so a wrong LayerNorm eps shows; training on such tiny embeddings at lr 1e-3 is chaotic
    in float32 — PyTorch float32 and float64 runs drift apart by percents — so training-run
    comparisons use 0.5)."""
    s = SPECS[spec]
    cfg = config_for(spec)
    cfg["vocab_size"] = V
    g = torch.Generator().manual_seed(1000 + seed)
    H, Ln, Fd, P = s["H"], s["L"], s["F"], s["P"]
    mt = s["model_type"]
    pre = PREFIX[mt]

    def rn(*shape, std=1.0):
        return torch.randn(*shape, generator=g) * std

    sd = {}

    def lin(name, o, i, std=None):
        sd[pre + name + ".weight"] = rn(o, i, std=std or 1.0 / i ** 0.5)
        sd[pre + name + ".bias"] = rn(o, std=0.1)

    def ln(name):
        sd[pre + name + ".weight"] = 1.0 + rn(H, std=0.1)
        sd[pre + name + ".bias"] = rn(H, std=0.1)

    es = emb_std if emb_std is not None else s.get("emb_std", 0.5)
    sd[pre + "embeddings.word_embeddings.weight"] = rn(V, H, std=es)
    sd[pre + "embeddings.position_embeddings.weight"] = rn(P, H, std=es)
    if mt != "distilbert":
        sd[pre + "embeddings.token_type_embeddings.weight"] = rn(s["TV"], H, std=es)
    ln("embeddings.LayerNorm")
    sharp = 3.0 / H ** 0.5
    for l in range(Ln):
        if mt == "distilbert":
            p = f"transformer.layer.{l}."
            lin(p + "attention.q_lin", H, H, sharp)
            lin(p + "attention.k_lin", H, H, sharp)
            lin(p + "attention.v_lin", H, H)
            lin(p + "attention.out_lin", H, H)
            ln(p + "sa_layer_norm")
            lin(p + "ffn.lin1", Fd, H)
            lin(p + "ffn.lin2", H, Fd)
            ln(p + "output_layer_norm")
        else:
            p = f"encoder.layer.{l}."
            lin(p + "attention.self.query", H, H, sharp)
            lin(p + "attention.self.key", H, H, sharp)
            lin(p + "attention.self.value", H, H)
            lin(p + "attention.output.dense", H, H)
            ln(p + "attention.output.LayerNorm")
            lin(p + "intermediate.dense", Fd, H)
            lin(p + "output.dense", H, Fd)
            ln(p + "output.LayerNorm")
    hs = 1.0 / H ** 0.5
    sd["heads.emotion.0.weight"], sd["heads.emotion.0.bias"] = rn(H, H, std=hs), rn(H, std=0.1)
    sd["heads.emotion.2.weight"], sd["heads.emotion.2.bias"] = rn(L, H, std=hs), rn(L, std=0.5)
    sd["heads.intensity.0.weight"], sd["heads.intensity.0.bias"] = rn(H, H, std=hs), rn(H, std=0.1)
    sd["heads.intensity.2.weight"], sd["heads.intensity.2.bias"] = rn(1, H, std=hs), torch.tensor([0.5])
    return cfg, sd


def write_model(out_dir, cfg, sd):
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg, f)
    write_safetensors(os.path.join(out_dir, "model.safetensors"), sd)


def make_batch(cfg, rng, lens, L, label_rows=None, int_rows=None):
    """A padded batch as grad_dump reads it: random ids (never the pad id) for real tokens,
    pad ids and mask 0 after; multi-hot labels; intensity targets in [0,1]."""
    V = cfg["vocab_size"]
    pad = 1 if cfg["model_type"] == "roberta" else 0
    B, T = len(lens), max(lens)
    ids = np.full((B, T), pad, np.int64)
    mask = np.zeros((B, T), np.int64)
    for b, n in enumerate(lens):
        ids[b, :n] = rng.integers(pad + 1, V, n)
        mask[b, :n] = 1
    labels = (rng.random((B, L)) < 0.4).astype(np.float64)
    for b in range(B):
        if not labels[b].any():
            labels[b, rng.integers(0, L)] = 1.0
    inten = rng.random(B)
    return {"ids": ids.tolist(), "mask": mask.tolist(), "labels": labels.tolist(),
            "label_row": [1] * B if label_rows is None else list(label_rows),
            "intensity": inten.tolist(),
            "intensity_row": [1] * B if int_rows is None else list(int_rows)}


def encoder_forward(cfg, params, ids, mask):
    """Last hidden states (B,T,H) from parameters named with the family prefix."""
    mt = cfg["model_type"]
    pre = PREFIX[mt]
    W = lambda name: params[pre + name]  # noqa: E731
    ids = torch.as_tensor(ids, dtype=torch.long)
    mask = torch.as_tensor(mask, dtype=torch.long)
    if mt == "distilbert":
        return _distilbert(cfg, W, ids, mask)
    return _bert_like(cfg, W, ids, mask, mt == "roberta")


def heads_forward(params, pooled):
    z = F.gelu(F.linear(pooled, params["heads.emotion.0.weight"], params["heads.emotion.0.bias"]))
    logits = F.linear(z, params["heads.emotion.2.weight"], params["heads.emotion.2.bias"])
    s = F.gelu(F.linear(pooled, params["heads.intensity.0.weight"], params["heads.intensity.0.bias"]))
    inten = F.linear(s, params["heads.intensity.2.weight"], params["heads.intensity.2.bias"])[:, 0]
    return logits, inten, z


def pml_logsumexp(x, keep_mask, dim=1):
    # pytorch_metric_learning.utils.loss_and_miner_utils.logsumexp(add_one=True)
    x = x.masked_fill(~keep_mask, torch.finfo(x.dtype).min)
    zeros = torch.zeros(x.size(dim - 1), dtype=x.dtype).unsqueeze(dim)
    x = torch.cat([x, zeros], dim=dim)
    out = torch.logsumexp(x, dim=dim, keepdim=True)
    return out.masked_fill(~torch.any(keep_mask, dim=dim, keepdim=True), 0)


def jaccard_masks(lab, thr=0.15):
    n = lab.shape[0]
    pos = np.zeros((n, n), bool)
    neg = np.zeros((n, n), bool)
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            a, b = lab[i] > 0.5, lab[j] > 0.5
            if not a.any() or not b.any():
                continue
            inter, uni = (a & b).sum(), (a | b).sum()
            pos[i, j] = inter / uni > thr
            neg[i, j] = inter == 0
    return pos, neg


def ms_loss(feats, lab, alpha=2.0, beta=5.0, base=0.4):
    pos, neg = jaccard_masks(lab)
    e = F.normalize(feats, p=2, dim=1)
    mat = e @ e.t()
    pl = (1.0 / alpha) * pml_logsumexp(alpha * (base - mat), torch.tensor(pos))
    nl = (1.0 / beta) * pml_logsumexp(beta * (mat - base), torch.tensor(neg))
    return (pl + nl).mean()


def loss_terms(cfg, params, batch, opts, dtype):
    """Total loss and its parts (floats) for one batch, differentiable w.r.t. params."""
    mask = torch.as_tensor(batch["mask"], dtype=torch.long)
    h = encoder_forward(cfg, params, batch["ids"], batch["mask"])
    if opts.get("pool", "mean") == "cls":
        pooled = h[:, 0]
    else:
        m = mask.to(dtype).unsqueeze(-1)
        pooled = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
    logits, inten, z = heads_forward(params, pooled)
    y = torch.tensor(batch["labels"], dtype=dtype)
    row = torch.tensor(batch["label_row"], dtype=dtype)
    pw = opts.get("pos_weight")
    pw = torch.tensor(pw, dtype=dtype) if pw is not None else None
    el = F.binary_cross_entropy_with_logits(logits, y, pos_weight=pw, reduction="none")
    em = row[:, None].expand_as(el)
    bce = (el * em).sum() / em.sum().clamp(min=1)
    t = torch.tensor(batch["intensity"], dtype=dtype)
    r = torch.tensor(batch["intensity_row"], dtype=dtype)
    l1 = ((inten - t).abs() * r).sum() / r.sum().clamp(min=1)
    loss = bce + opts.get("w_int", 0.0) * l1
    ms = torch.zeros((), dtype=dtype)
    w_ms = opts.get("w_ms", 0.0)
    sel = [b for b, v in enumerate(batch["label_row"]) if v]
    if w_ms and len(sel) >= 4:
        ms = ms_loss(z[sel], np.array(batch["labels"])[sel])
        loss = loss + w_ms * ms
    return loss, (float(bce), float(l1), float(ms))


def read_records(path):
    """grad_dump's output: {name: float64 array} in file order."""
    out = {}
    with open(path, "rb") as f:
        data = f.read()
    off = 0
    while off < len(data):
        (n,) = struct.unpack_from("<I", data, off)
        off += 4
        name = data[off:off + n].decode()
        off += n
        (cnt,) = struct.unpack_from("<Q", data, off)
        off += 8
        out[name] = np.frombuffer(data, "<f8", cnt, off).copy()
        off += 8 * cnt
    return out


def no_decay(name):
    """HF Trainer's groups, restated: biases and LayerNorm parameters get no weight decay."""
    low = name.lower()
    return name.endswith("bias") or "layernorm" in low or "layer_norm" in low


def hf_linear(warm, total):
    def f(step):
        if step < warm:
            return float(step) / float(max(1, warm))
        return max(0.0, float(total - step) / float(max(1, total - warm)))
    return f


def isclose_report(got, ref, rtol, atol):
    """Elementwise |got - ref| <= rtol*|ref| + atol*max(1, max|ref|): the absolute floor
    grows with the tensor's scale, because an element that is small next to its tensor is
    a cancellation of terms of the tensor's size, which float32 resolves only to ~1e-7 of
    that size (PyTorch's own float32 autograd misses a fixed 1e-6 floor on these models).
    Returns (ok, tensor relative error max|d| / max|ref| (0 for an all-~0 tensor), max|d|)."""
    d = np.abs(got - ref)
    scale = float(np.abs(ref).max()) if ref.size else 0.0
    ok = bool(np.all(d <= rtol * np.abs(ref) + atol * max(1.0, scale)))
    rel = float(d.max()) / scale if scale > atol else 0.0
    return ok, rel, float(d.max()) if d.size else 0.0
