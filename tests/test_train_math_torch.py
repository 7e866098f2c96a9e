#!/usr/bin/env python3
"""src/train math vs PyTorch (Debian python3-torch 1.13, run with /usr/bin/python3).

Drives tests/tools/train_math_dump.c (the C routines) on random inputs and compares with:
  - losses and their gradients: float64 torch autograd of the reference expressions
    (F.binary_cross_entropy_with_logits with pos_weight and a mask; F.l1_loss / F.mse_loss on
    the masked rows; pytorch-metric-learning's MultiSimilarityLoss._compute_loss, re-typed
    here because pml is not installed). The C side computes in double from the same float32
    inputs and rounds gradients to float32, so the tolerance is float32 rounding:
    loss |d| <= 1e-9 * max(1, |loss|), grads |d| <= 1e-7 + 1e-5 * |ref|.
  - AdamW: 50 steps of torch.optim.AdamW (float32, a decay and a no-decay group, a changing
    lr) vs the C update: max |d| over every parameter after every step <= 1e-6.
  - schedules: torch LambdaLR with Hugging Face's closed-form lambdas, every step: |d| <= 1e-15.
  - clip_grad_norm_: norm rel 1e-6, clipped grads |d| <= 1e-7 + 1e-6 |ref|.
"""
import math
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

TOOLS = os.environ.get("AFFECT_TOOLS", "")
EXE = os.path.join(TOOLS, "train_math_dump") if TOOLS else os.environ.get("TRAIN_MATH_DUMP", "")
TMP = os.environ.get("AFFECT_TEST_TMP") or tempfile.gettempdir()
os.makedirs(TMP, exist_ok=True)
FAILS = []


def check(name, ok, detail):
    print(("ok   " if ok else "FAIL ") + name + ": " + detail)
    if not ok:
        FAILS.append(name)


def run(cmd, arrays, *nums):
    """Writes arrays (float32; None = empty/NULL), runs the driver, returns its float64 arrays."""
    fd, inp = tempfile.mkstemp(dir=TMP, suffix=".in")
    os.close(fd)
    out = inp[:-3] + ".out"
    with open(inp, "wb") as f:
        for a in arrays:
            a = np.zeros(0, np.float32) if a is None else np.ascontiguousarray(a, np.float32).ravel()
            f.write(struct.pack("<Q", a.size))
            f.write(a.tobytes())
    r = subprocess.run([EXE, cmd, inp, out] + [repr(float(x)) for x in nums],
                       capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stderr)
        raise SystemExit(f"FAIL: train_math_dump {cmd} exited {r.returncode}")
    res = []
    with open(out, "rb") as f:
        data = f.read()
    os.unlink(inp)
    os.unlink(out)
    off = 0
    while off < len(data):
        (n,) = struct.unpack_from("<Q", data, off)
        off += 8
        res.append(np.frombuffer(data, np.float64, n, off).copy())
        off += 8 * n
    return res


def close(name, got, ref, rtol=1e-5, atol=1e-7):
    got = np.asarray(got, np.float64).ravel()
    ref = np.asarray(ref, np.float64).ravel()
    if got.shape != ref.shape:
        check(name, False, f"shape {got.shape} vs {ref.shape}")
        return
    err = np.abs(got - ref)
    ok = bool(np.all(np.isfinite(got))) and bool(np.all(err <= atol + rtol * np.abs(ref)))
    check(name, ok, f"max|d|={err.max() if err.size else 0:.3g} (n={got.size})")


def close_loss(name, got, ref):
    d = abs(float(got) - float(ref))
    check(name, d <= 1e-9 * max(1.0, abs(ref)) and math.isfinite(got), f"C={got:.12g} torch={ref:.12g}")


rng = np.random.default_rng(1234)
f32 = lambda a: np.asarray(a, np.float32)
t64 = lambda a: torch.tensor(np.asarray(a, np.float64))


# ---- BCE with logits ----------------------------------------------------------------------
def bce_case(name, B, L, use_pw, use_rm, use_m, dloss, extreme=False):
    x = f32(rng.normal(0, 3, (B, L)))
    if extreme:
        x.ravel()[: B * L // 3] = f32(rng.choice([-100.0, 100.0, -30.0, 30.0, 0.0], B * L // 3))
    y = f32(rng.random((B, L)) < 0.3)
    y[0, 0] = 0.25  # a soft target
    pw = f32(rng.uniform(0.5, 50, L)) if use_pw else None
    rm = f32(rng.random(B) < 0.7) if use_rm else None
    m = f32(rng.random((B, L)) < 0.8) if use_m else None
    loss_c, dx_c = run("bce", [x, y, pw, rm, m], B, L, dloss)
    xt = t64(x).requires_grad_(True)
    el = F.binary_cross_entropy_with_logits(xt, t64(y), pos_weight=None if pw is None else t64(pw),
                                            reduction="none")
    w = torch.ones(B, L, dtype=torch.float64)
    if rm is not None:
        w = w * t64(rm)[:, None]
    if m is not None:
        w = w * t64(m)
    cnt = w.sum()
    loss = (el * w).sum() / cnt if cnt > 0 else (el * w).sum()
    (loss * dloss).backward()
    close_loss(name + " loss", loss_c[0], loss.item())
    close(name + " grad", dx_c, xt.grad.numpy())


bce_case("bce plain", 8, 28, False, False, False, 1.0)
bce_case("bce pos_weight+row mask+label mask", 16, 28, True, True, True, 0.7)
bce_case("bce extreme logits", 12, 11, True, False, True, 1.0, extreme=True)

# pos_weight helper vs numpy
Y = f32(rng.random((200, 12)) < np.linspace(0.005, 0.6, 12))
Y[:, 0] = 0  # no positives -> cap
M = f32(rng.random((200, 12)) < 0.9)
for cap in (50.0, 2.0):
    (pw_c,) = run("posw", [Y, M], 200, 12, cap)
    pos = ((Y > 0.5) & (M > 0)).sum(0).astype(np.float64)
    neg = ((Y <= 0.5) & (M > 0)).sum(0).astype(np.float64)
    ref = np.where(pos > 0, np.minimum(neg / np.maximum(pos, 1), cap), cap).astype(np.float32)
    check(f"pos_weight cap={cap}", np.array_equal(f32(pw_c), ref), f"{pw_c[:4]} ... vs {ref[:4]} ...")


# ---- L1 / MSE ------------------------------------------------------------------------------
for kind, fn in (("l1", F.l1_loss), ("mse", F.mse_loss)):
    B, K = 10, 4
    p = f32(rng.normal(0, 1, (B, K)))
    t = f32(rng.normal(0, 1, (B, K)))
    t[1, 2] = p[1, 2]  # a zero difference: L1 gradient must be 0 there, like torch's sign(0)
    rm = f32(rng.random(B) < 0.6)
    rm[1] = 1
    loss_c, dp_c = run(kind, [p, t, rm], B, K, 1.5)
    pt = t64(p).requires_grad_(True)
    sel = torch.tensor(rm > 0)
    loss = fn(pt[sel], t64(t)[sel], reduction="mean")
    (loss * 1.5).backward()
    close_loss(f"{kind} loss", loss_c[0], loss.item())
    close(f"{kind} grad", dp_c, pt.grad.numpy())


# ---- multi-similarity loss ----------------------------------------------------------------
def pml_logsumexp(x, keep_mask, dim=1):
    # pytorch_metric_learning.utils.loss_and_miner_utils.logsumexp(add_one=True)
    x = x.masked_fill(~keep_mask, torch.finfo(x.dtype).min)
    zeros = torch.zeros(x.size(dim - 1), dtype=x.dtype).unsqueeze(dim)
    x = torch.cat([x, zeros], dim=dim)
    out = torch.logsumexp(x, dim=dim, keepdim=True)
    return out.masked_fill(~torch.any(keep_mask, dim=dim, keepdim=True), 0)


def pml_ms_losses(emb, pos, neg, alpha, beta, base):
    # MultiSimilarityLoss._compute_loss with CosineSimilarity (normalize, then x x^T; margin
    # inverted: pos_exp = base - mat, neg_exp = mat - base); returns per-anchor losses (B,1)
    e = F.normalize(emb, p=2, dim=1)
    mat = e @ e.t()
    pos_loss = (1.0 / alpha) * pml_logsumexp(alpha * (base - mat), pos)
    neg_loss = (1.0 / beta) * pml_logsumexp(beta * (mat - base), neg)
    return pos_loss + neg_loss


def jaccard_masks(lab, thr, valid=None):
    Bn = lab.shape[0]
    pos = np.zeros((Bn, Bn), bool)
    neg = np.zeros((Bn, Bn), bool)
    for i in range(Bn):
        for j in range(Bn):
            if i == j or (valid is not None and not (valid[i] and valid[j])):
                continue
            a, b = lab[i] > 0.5, lab[j] > 0.5
            if not a.any() or not b.any():
                continue
            inter, uni = (a & b).sum(), (a | b).sum()
            pos[i, j] = inter / uni > thr
            neg[i, j] = inter == 0
    return pos, neg


B, D, L = 24, 32, 6
lab = f32(rng.random((B, L)) < 0.25)
lab[3] = 0  # an unlabelled row: no pairs at all
valid = f32(np.ones(B))
valid[5] = 0
pos_c, neg_c = run("msmask", [lab, valid], B, L, 0.15)
pos_r, neg_r = jaccard_masks(lab, 0.15, valid > 0)
check("ms pair masks (Jaccard)", np.array_equal(pos_c.reshape(B, B) > 0, pos_r)
      and np.array_equal(neg_c.reshape(B, B) > 0, neg_r),
      f"{int(pos_r.sum())} pos, {int(neg_r.sum())} neg pairs")

feats = f32(rng.normal(0, 1, (B, D)))
feats[7] *= 1e-3  # a short vector: normalisation must still be right
for red, rname in ((0, "mean_all (pml MeanReducer)"), (1, "mean_active")):
    for (alpha, beta, base) in ((2.0, 5.0, 0.4), (2.0, 50.0, 0.5)):
        loss_c, df_c = run("ms", [feats, pos_r, neg_r], B, D, alpha, beta, base, red, 0.8)
        ft = t64(feats).requires_grad_(True)
        per = pml_ms_losses(ft, torch.tensor(pos_r), torch.tensor(neg_r), alpha, beta, base)
        if red == 0:
            loss = per.mean()
        else:
            active = torch.tensor(pos_r.any(1) | neg_r.any(1))
            loss = per[active].sum() / active.sum()
        (loss * 0.8).backward()
        tag = f"ms {rname} a={alpha} b={beta} base={base}"
        close_loss(tag + " loss", loss_c[0], loss.item())
        close(tag + " grad", df_c, ft.grad.numpy())

# no pairs at all: loss 0, grads 0
z = np.zeros((B, B), np.float32)
loss_c, df_c = run("ms", [feats, z, z], B, D, 2, 5, 0.4, 1, 1.0)
check("ms no pairs", loss_c[0] == 0.0 and not np.any(df_c), f"loss={loss_c[0]}")


# ---- AdamW ---------------------------------------------------------------------------------
steps = 50
sizes = [1000, 37, 256, 1]
decay = [1, 0, 1, 0]
total = sum(sizes)
p0 = f32(rng.normal(0, 0.5, total))
G = f32(rng.normal(0, 1, (steps, total)) * rng.choice([1e-4, 1e-2, 1.0, 30.0], (steps, total)))
G[:, 5] = 0.0  # a parameter that never gets a gradient
lrs = f32([2e-3 * (0.5 + 0.5 * math.cos(math.pi * s / steps)) for s in range(steps)])
beta1, beta2, eps, wd = 0.9, 0.999, 1e-8, 0.05
traj_c = np.stack(run("adamw", [p0, f32(sizes), f32(decay), G, lrs], steps, beta1, beta2, eps, wd))
params, off = [], 0
for n in sizes:
    params.append(torch.nn.Parameter(torch.tensor(p0[off:off + n])))
    off += n
groups = [{"params": [q for q, dd in zip(params, decay) if dd], "weight_decay": wd},
          {"params": [q for q, dd in zip(params, decay) if not dd], "weight_decay": 0.0}]
opt = torch.optim.AdamW(groups, lr=1e-3, betas=(beta1, beta2), eps=eps)
worst, exact = 0.0, True
for s in range(steps):
    off = 0
    for q, n in zip(params, sizes):
        q.grad = torch.tensor(G[s, off:off + n])
        off += n
    for g in opt.param_groups:
        g["lr"] = float(lrs[s])
    opt.step()
    ref = torch.cat([q.detach() for q in params]).numpy()
    worst = max(worst, float(np.abs(traj_c[s] - ref.astype(np.float64)).max()))
    exact = exact and np.array_equal(f32(traj_c[s]), ref)
check("adamw 50 steps vs torch.optim.AdamW", worst <= 1e-6,
      f"max|d|={worst:.3g}, bit-exact={'yes' if exact else 'no'}")


# ---- schedules -----------------------------------------------------------------------------
def hf_linear(warm, total):
    def f(step):
        if step < warm:
            return float(step) / float(max(1, warm))
        return max(0.0, float(total - step) / float(max(1, total - warm)))
    return f


def hf_cosine(warm, total, num_cycles=0.5):
    def f(step):
        if step < warm:
            return float(step) / float(max(1, warm))
        progress = float(step - warm) / float(max(1, total - warm))
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress)))
    return f


sched_ok, worst = True, 0.0
for total, ratio in ((1000, 0.1), (347, 0.06), (10, 0.0), (5, 0.5), (1, 0.1), (2001, 0.03)):
    (w_c,) = run("warmup", [], 0, ratio, total)
    warm = math.ceil(total * ratio)
    if int(w_c[0]) != warm:
        sched_ok = False
        print(f"  warmup steps total={total} ratio={ratio}: C {w_c[0]} vs HF {warm}")
    for kind, maker in ((0, hf_linear), (1, hf_cosine)):
        (mult_c,) = run("sched", [], kind, warm, total, 0.5)
        q = torch.nn.Parameter(torch.zeros(1))
        o = torch.optim.SGD([q], lr=1.0)
        sch = torch.optim.lr_scheduler.LambdaLR(o, maker(warm, total))
        ref = []
        for s in range(total + 1):
            ref.append(o.param_groups[0]["lr"])
            o.step()
            sch.step()
        d = float(np.abs(mult_c - np.array(ref)).max())
        worst = max(worst, d)
        sched_ok = sched_ok and d <= 1e-15
(w_c,) = run("warmup", [], 17, 0.5, 100)
sched_ok = sched_ok and int(w_c[0]) == 17
check("schedules linear/cosine vs LambdaLR(HF lambdas), warmup=ceil(ratio*total)", sched_ok,
      f"max|d|={worst:.3g}")


# ---- clip_grad_norm_ -----------------------------------------------------------------------
for max_norm, scale in ((1.0, 1.0), (1.0, 1e-3), (0.5, 100.0)):
    sizes = [300, 7, 64]
    g = f32(rng.normal(0, 1, sum(sizes)) * scale)
    norm_c, g_c = run("clip", [g, f32(sizes)], max_norm)
    ps, off = [], 0
    for n in sizes:
        q = torch.nn.Parameter(torch.zeros(n))
        q.grad = torch.tensor(g[off:off + n])
        ps.append(q)
        off += n
    norm_t = torch.nn.utils.clip_grad_norm_(ps, max_norm).item()
    ref = torch.cat([q.grad for q in ps]).numpy()
    ok = abs(norm_c[0] - norm_t) <= 1e-6 * norm_t
    err = float(np.abs(g_c - ref).max())
    ok = ok and bool(np.all(np.abs(g_c - ref) <= 1e-7 + 1e-6 * np.abs(ref)))
    if norm_t < max_norm:
        ok = ok and np.array_equal(f32(g_c), g)  # untouched below the threshold
    check(f"clip_grad_norm_ max_norm={max_norm} norm={norm_t:.4g}", ok,
          f"norm C={norm_c[0]:.9g} torch={norm_t:.9g}, grads max|d|={err:.3g}")

if FAILS:
    print(f"FAILED: {len(FAILS)} check(s): {', '.join(FAILS)}")
    sys.exit(1)
print("all train math checks passed")
