"""Driver of the training-step benchmark: affect vs PyTorch (bench/train.sh runs it; a
benchmark, never a test).

For each model (the real config.json of DistilBERT, MiniLMv2-L12-H384 and TinyBERT-4L-312D
from $AFFECT_SHARED/models, random weights) and each shape (batch 16/32 x sequence 64/128;
--quick: batch 16, sequence 64 only), it runs one full training step (forward, loss,
backward, clipping, AdamW) WARM times untimed and then N times timed, in a fresh process per
engine and shape so each process's peak RSS (ru_maxrss) is that cell's alone:
bench/bench_train.c for affect, bench/torch_train_peer.py for PyTorch (same shapes, same
batch recipe, same thread count, dropout off in both). Throughput is sequences/s from the
median step time. Ratios > 1 mean affect is faster (seq/s) or lighter (RSS: torch/affect).

PyTorch gets its best settings: torch.set_num_threads(threads), OMP_WAIT_POLICY=PASSIVE, and
glibc malloc tunables that keep big gradient/optimizer buffers out of the mmap/munmap churn
(MALLOC_MMAP_THRESHOLD_/MALLOC_TRIM_THRESHOLD_, --torch-malloc; 'search' times the
candidates on the first cell and keeps the fastest). OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE are
removed for both engines unless --keep-coretype; the header prints the core each ran.

GFLOP/s estimate for affect: (6 x non-embedding parameters x tokens + attention flops) / step
time, attention = 12 x layers x B x T^2 x H (QK^T and PV, forward 2 GEMMs, backward 4), and
% of a --peak-gflops machine peak (436 GFLOP/s: 2 cores of AVX-512 FMA here).
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PY = "/usr/bin/python3"
SHARED = os.environ.get("AFFECT_SHARED", os.path.join(ROOT, "..", "shared"))
MODELS = {
    "distilbert": ("DistilBERT", "distilbert-base-uncased"),
    "minilm": ("MiniLM-L12-H384", "MiniLMv2-L12-H384-distilled-from-RoBERTa-Large"),
    "tinybert": ("TinyBERT-4L-312", "TinyBERT_General_4L_312D"),
}
# glibc tunables tried for torch; the first is the default used without a search
MALLOC_CANDIDATES = {
    "mmap64M": {"MALLOC_MMAP_THRESHOLD_": str(64 << 20), "MALLOC_TRIM_THRESHOLD_": str(128 << 20)},
    "mmap1G": {"MALLOC_MMAP_THRESHOLD_": str(1 << 30), "MALLOC_TRIM_THRESHOLD_": str(1 << 30)},
    "none": {},
}


def dims(cfg):
    if cfg["model_type"] == "distilbert":
        return cfg["dim"], cfg["n_layers"], cfg["hidden_dim"], cfg["vocab_size"]
    return cfg["hidden_size"], cfg["num_hidden_layers"], cfg["intermediate_size"], cfg["vocab_size"]


def step_flops(cfg, B, T):
    """6 x non-embedding encoder params x tokens (2 flops per parameter and token forward,
    4 backward) + attention's QK^T and PV: 2 GEMMs of 2·T²·H flops per sequence and layer
    forward, twice that backward. Heads and embeddings are left out."""
    H, L, F, _ = dims(cfg)
    nonemb = L * (4 * H * H + 4 * H + 2 * H * F + F + H + 4 * H)
    tokens = B * T
    return 6.0 * nonemb * tokens + 12.0 * L * B * T * T * H


def run_cell(argv, env, timeout):
    t0 = time.time()
    p = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({p.returncode}): {p.stderr.strip()[-800:]}")
    line = [ln for ln in p.stdout.splitlines() if ln.startswith("{")][-1]
    r = json.loads(line)
    r["wall_s"] = time.time() - t0
    return r


def steps_for(cfg, B, T, budget_tokens):
    """Timed steps: enough tokens for a stable median, few for the big shapes."""
    n = max(3, min(12, budget_tokens // (B * T)))
    H = dims(cfg)[0]
    return n if H < 768 else max(3, n // 2)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", required=True, help="build dir holding bench/bench_train")
    ap.add_argument("--quick", action="store_true", help="batch 16, sequence 64 only")
    ap.add_argument("--models", default="distilbert,minilm,tinybert")
    ap.add_argument("--batches", default="16,32")
    ap.add_argument("--seqs", default="64,128")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warm", type=int, default=2)
    ap.add_argument("--steps", type=int, default=0, help="timed steps per cell (0: by shape, 3..12)")
    ap.add_argument("--keep-coretype", action="store_true", help="keep OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE as set")
    ap.add_argument("--torch-malloc", default="mmap64M", help="|".join(MALLOC_CANDIDATES) + "|search")
    ap.add_argument("--peak-gflops", type=float, default=436.0)
    ap.add_argument("--engines", default="affect,torch")
    ap.add_argument("--json", help="also write every raw result to this file")
    a = ap.parse_args()
    batches = [16] if a.quick else [int(x) for x in a.batches.split(",")]
    seqs = [64] if a.quick else [int(x) for x in a.seqs.split(",")]
    engines = a.engines.split(",")

    env = dict(os.environ)
    if not a.keep_coretype:
        for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
            env.pop(k, None)
    env["OMP_NUM_THREADS"] = str(a.threads)
    env["OPENBLAS_NUM_THREADS"] = str(a.threads)
    bench_bin = os.path.join(a.build, "bench", "bench_train")
    peer = os.path.join(HERE, "torch_train_peer.py")

    def torch_env(choice):
        e = dict(env, OMP_WAIT_POLICY="PASSIVE")
        e.update(MALLOC_CANDIDATES[choice])
        return e

    cells = [(m, B, T) for m in a.models.split(",") for B in batches for T in seqs]
    cfgs = {}
    for m in a.models.split(","):
        with open(os.path.join(SHARED, "models", MODELS[m][1], "config.json")) as f:
            cfgs[m] = (os.path.join(SHARED, "models", MODELS[m][1], "config.json"), json.load(f))

    malloc_choice = a.torch_malloc
    search_log = []
    if "torch" in engines and malloc_choice == "search":
        m, B, T = cells[0]
        best = None
        for name in MALLOC_CANDIDATES:
            r = run_cell([PY, peer, cfgs[m][0], str(B), str(T), str(a.threads), "1", "3"], torch_env(name), 900)
            search_log.append(f"{name} {r['median_ms']:.0f} ms")
            if best is None or r["median_ms"] < best[1]:
                best = (name, r["median_ms"])
        malloc_choice = best[0]

    results, cores = [], {}
    for (m, B, T) in cells:
        path, cfg = cfgs[m]
        n = a.steps or steps_for(cfg, B, T, 16 * 128 * 6)
        row = {"model": m, "B": B, "T": T, "steps": n}
        for eng in engines:
            if eng == "affect":
                argv, e = [bench_bin, path, str(B), str(T), str(a.threads), str(a.warm), str(n)], env
            else:
                argv, e = [PY, peer, path, str(B), str(T), str(a.threads), str(a.warm), str(n)], torch_env(malloc_choice)
            r = run_cell(argv, e, 1800)
            cores[eng] = r["corename"]
            row[eng] = r
            time.sleep(0.2)
        results.append(row)
        print(f"# done {m} B{B} T{T}: " + ", ".join(
            f"{eng} {row[eng]['median_ms']:.0f} ms/step (fwd+bwd {sorted(row[eng]['micro_ms'])[len(row[eng]['micro_ms'])//2]:.0f}, "
            f"opt {sorted(row[eng]['opt_ms'])[len(row[eng]['opt_ms'])//2]:.0f})" for eng in engines), file=sys.stderr, flush=True)

    print(f"# training step: forward + loss (BCE pos_weight, all rows; L1 on half; multi-similarity) + backward + "
          f"clip 1.0 + AdamW (lr 3e-5, wd 0.01, HF no-decay groups); dropout OFF in both; random weights, "
          f"28 labels, mask all ones; warm-up {a.warm} steps, median of the timed steps")
    print(f"# OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE: {'kept' if a.keep_coretype else 'UNSET for both'}; "
          f"OpenBLAS core: " + ", ".join(f"{k} {v}" for k, v in cores.items()))
    if "torch" in engines:
        print(f"# torch {results[0]['torch'].get('torch', '?')}: set_num_threads({a.threads}), OMP_WAIT_POLICY=PASSIVE, "
              f"malloc {malloc_choice} {MALLOC_CANDIDATES[malloc_choice]}"
              + (f" (search: {'; '.join(search_log)})" if search_log else ""))
    hdr = ["model", "batch", "seq", "threads", "affect seq/s", "torch seq/s", "ratio",
           "affect RSS MB", "torch RSS MB", "affect GFLOP/s", "% peak"]
    rows = []
    for row in results:
        cfg = cfgs[row["model"]][1]
        B, T = row["B"], row["T"]
        out = [MODELS[row["model"]][0], str(B), str(T), str(a.threads)]
        aff, tor = row.get("affect"), row.get("torch")
        a_sps = B / (aff["median_ms"] / 1e3) if aff else None
        t_sps = B / (tor["median_ms"] / 1e3) if tor else None
        out.append(f"{a_sps:.2f}" if aff else "-")
        out.append(f"{t_sps:.2f}" if tor else "-")
        out.append(f"{a_sps / t_sps:.2f}x" if aff and tor else "-")
        out.append(f"{aff['peak_rss_mb']:.0f}" if aff else "-")
        out.append(f"{tor['peak_rss_mb']:.0f}" if tor else "-")
        if aff:
            gf = step_flops(cfg, B, T) / (aff["median_ms"] / 1e3) / 1e9
            out += [f"{gf:.0f}", f"{100 * gf / a.peak_gflops:.0f}%"]
        else:
            out += ["-", "-"]
        rows.append(out)
    w = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(hdr)]
    print("| " + " | ".join(h.ljust(w[i]) for i, h in enumerate(hdr)) + " |")
    print("|" + "|".join("-" * (x + 2) for x in w) + "|")
    for r in rows:
        print("| " + " | ".join(c.ljust(w[i]) for i, c in enumerate(r)) + " |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
