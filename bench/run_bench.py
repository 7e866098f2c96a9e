"""Driver of the forward-pass benchmark: affect vs PyTorch vs onnxruntime-node (bench/forward.sh
runs it; it is a benchmark, not a test).

For each model (full-size shapes, random weights from bench/make_models.py, cached) it starts
the three engines once, as long-lived processes speaking one line protocol
(bench_forward.c, torch_peer.py, ort_peer.mjs), then walks the cells (batch, seq, threads)
asking the engines in rounds (the order rotating) for forward times on the
same token ids. Interleaving matters on a shared 2-core machine: a burst of background load
lands on all three engines instead of one. Ratios > 1 mean affect is faster.

OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE: by default both are removed from the environment of all
three engines (affect and torch both run OpenBLAS; onnxruntime has its own MLAS kernels), so
OpenBLAS picks the CPU's own kernel (AVX-512 here instead of the forced Haswell/AVX2 one);
--keep-coretype keeps them. The header names the core each process actually got.
"""
import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import make_models  # noqa: E402

PY = "/usr/bin/python3"
SETTLE_S = 0.15  # pause after each engine: its worker threads spin/yield a while before sleeping
LABEL = {"distilbert": "DistilBERT", "minilm": "MiniLM-L12-H384", "tinybert": "TinyBERT-4L-312"}


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def loadavg():
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def write_ids(cache, name, cfg, B, T):
    """Token ids from the real vocabulary, all real tokens, no padding: [CLS]/<s>, random
    ordinary ids, [SEP]/</s>. Deterministic per (model, shape); one file all engines read."""
    path = os.path.join(cache, "ids", f"{name}-B{B}-T{T}.bin")
    if os.path.exists(path):
        return path
    os.makedirs(os.path.dirname(path), exist_ok=True)
    rng = np.random.default_rng(B * 100003 + T)
    if cfg["model_type"] == "roberta":
        ids = rng.integers(3, 50261, size=(B, T))  # past <s> <pad> </s>, before the last added tokens
        first, last = 0, 2
    else:
        ids = rng.integers(1996, 29612, size=(B, T))  # ordinary WordPiece tokens, no [unused*]
        first, last = 101, 102
    ids[:, 0], ids[:, -1] = first, last
    tmp = path + f".tmp{os.getpid()}"
    ids.astype("<i4").tofile(tmp)
    os.replace(tmp, path)
    return path


class Engine:
    """One engine process speaking the line protocol."""

    def __init__(self, name, argv, env):
        self.name = name
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True,
                                  cwd=ROOT)
        self.info = self._read()

    def _read(self):
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.name} exited (rc {self.p.wait()}); see its stderr above")
        return json.loads(line)

    def ask(self, cmd):
        self.p.stdin.write(cmd + "\n")
        self.p.stdin.flush()
        return self._read()

    def close(self):
        try:
            self.p.stdin.write("quit\n")
            self.p.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        self.p.wait(timeout=60)


def measure(engines, cell, shape, rounds, budget, min_reps, max_reps):
    """One cell: a sizing run per engine (after one warm-up), then `rounds` rounds in which
    every engine runs its share of reps, the order rotating so each burst of background load
    lands on all engines alike. Returns name -> {"ms": median, "reps": n, "check": [...]}."""
    ts, check, reps = {}, {}, {}
    for e in engines[cell % 3:] + engines[:cell % 3]:
        r = e.ask(f"run {shape} 1 1")
        ts[e.name], check[e.name] = list(r["ts"]), r["check"]
        reps[e.name] = min(max_reps, max(min_reps, math.ceil(budget / rounds / max(r["ts"][0], 1e-3))))
        time.sleep(SETTLE_S)
    for k in range(rounds):
        j = (cell + k + 1) % 3
        for e in engines[j:] + engines[:j]:
            warm = 1 if ts[e.name][0] < 300 else 0  # a cold cache after another engine ran
            ts[e.name] += e.ask(f"run {shape} {warm} {reps[e.name]}")["ts"]
            time.sleep(SETTLE_S)
    return {n: {"ms": float(np.median(t)), "reps": len(t), "check": check[n]} for n, t in ts.items()}


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", required=True, help="build dir holding bench/bench_forward; models cache in BUILD/bench-models")
    ap.add_argument("--quick", action="store_true", help="batch 1 only, shorter time budget per cell")
    ap.add_argument("--keep-coretype", action="store_true", help="keep OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE as set")
    ap.add_argument("--models", default="distilbert,minilm,tinybert")
    ap.add_argument("--torch-omp-wait", default="PASSIVE",
                    help="OMP_WAIT_POLICY for torch (PASSIVE measured best: ACTIVE spinning fights OpenBLAS's threads)")
    ap.add_argument("--wait-quiet", type=float, default=0, metavar="S",
                    help="first wait up to S seconds for the 1-minute load average to fall below 1")
    ap.add_argument("--no-profile", action="store_true", help="skip affect's time breakdown at batch 1, seq 64")
    a = ap.parse_args(argv[1:])

    batches, seqs, threads = ([1] if a.quick else [1, 16]), [64, 128], [1, 2]
    # per engine and cell: `rounds` rounds (engine order rotating) sharing `budget` ms, each
    # round min..max timed reps; the median of all of them is the cell's time
    rounds, budget, min_reps, max_reps = (2, 400, 2, 8) if a.quick else (3, 1500, 2, 15)
    cache = os.path.join(a.build, "bench-models")
    bench_bin = os.path.join(a.build, "bench", "bench_forward")

    env = dict(os.environ)
    core_env = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ}
    if not a.keep_coretype:
        for k in core_env:
            env.pop(k)
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.pop(k, None)  # each engine sets its thread count per cell itself
    torch_env = dict(env, OMP_WAIT_POLICY=a.torch_omp_wait) if a.torch_omp_wait else env

    deadline = time.time() + a.wait_quiet
    while loadavg() >= 1.0 and time.time() < deadline:
        time.sleep(5)
    t_start, load0 = time.time(), loadavg()
    rows, infos, profiles, diffs = [], {}, {}, []
    for name in a.models.split(","):
        folder = make_models.make(name, cache)
        with open(os.path.join(folder, "config.json")) as f:
            cfg = json.load(f)
        onnx = os.path.join(folder, "model.onnx")
        if not os.path.exists(onnx):
            subprocess.run([PY, os.path.join(HERE, "torch_peer.py"), "export", folder, onnx], env=env, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        engines = [Engine("affect", [bench_bin, folder], env),
                   Engine("torch", [PY, os.path.join(HERE, "torch_peer.py"), "serve", folder], torch_env),
                   Engine("ort", ["node", os.path.join(HERE, "ort_peer.mjs"), onnx], env)]
        for e in engines:
            infos.setdefault(e.name, e.info)
        cell = 0
        for B in batches:
            for T in seqs:
                ids = write_ids(cache, name, cfg, B, T)
                for th in threads:
                    res = measure(engines, cell, f"{ids} {B} {T} {th}", rounds, budget, min_reps, max_reps)
                    ref = res["torch"]["check"]
                    scale = max(abs(ref[0]), 1e-6)
                    for who in ("affect", "ort"):
                        d = max(abs(x - y) for x, y in zip(res[who]["check"], ref)) / scale
                        diffs.append((who, name, B, T, d))
                    rows.append((name, B, T, th, res["affect"]["ms"], res["torch"]["ms"], res["ort"]["ms"]))
                    print(f"  .. {name} B={B} T={T} threads={th}: affect {res['affect']['ms']:.1f}  "
                          f"torch {res['torch']['ms']:.1f}  ort {res['ort']['ms']:.1f} ms", file=sys.stderr, flush=True)
                    cell += 1
        if not a.no_profile:
            ids = write_ids(cache, name, cfg, 1, 64)
            profiles[name] = engines[0].ask(f"prof {ids} 1 64 1 15")  # stage timers, see bench_forward.c
        for e in engines:
            e.close()
    load1 = loadavg()

    ti, ai, oi = infos["torch"], infos["affect"], infos["ort"]
    print(f"# CPU: {cpu_model()} ({os.cpu_count()} logical cores); load average {load0:.2f} at start, "
          f"{load1:.2f} at end; {time.time() - t_start:.0f} s; {'quick' if a.quick else 'full sweep'}")
    cs = ", ".join(f"{k}={v}" for k, v in core_env.items()) or "none set"
    if max(load0, load1) > 1.5:
        print(f"# WARNING: other processes were busy on these {os.cpu_count()} cores (load {max(load0, load1):.1f}): "
              f"times are inflated, 2-thread cells most of all; rerun on a quiet machine (--wait-quiet 600)")
    print(f"# OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE: {'kept' if a.keep_coretype else 'UNSET for all engines'} "
          f"(environment had: {cs})")
    print(f"# affect: linear layers and attention on affect's own {ai.get('simd', '?')} kernels (weights packed at load); "
          f"OpenBLAS core {ai['core']} is linked but unused by the forward pass")
    print(f"# torch {ti['torch']}: OpenBLAS core {ti['core']}, OMP_WAIT_POLICY={ti['omp_wait_policy'] or 'default'}; "
          f"onnxruntime-node {oi['ort']}: {oi['core']}")
    print(f"# median ms per forward (all tokens real); ratio = peer ms / affect ms (> 1: affect faster)")
    hdr = f"{'model':<16} {'batch':>5} {'seq':>4} {'thr':>3} {'affect ms':>10} {'torch ms':>9} {'ort ms':>8} {'torch/affect':>12} {'ort/affect':>10}"
    print(hdr)
    print("-" * len(hdr))
    for name, B, T, th, am, tm, om in rows:
        print(f"{LABEL.get(name, name):<16} {B:>5} {T:>4} {th:>3} {am:>10.2f} {tm:>9.2f} {om:>8.2f} "
              f"{tm / am:>12.2f} {om / am:>10.2f}")
    gt = math.exp(sum(math.log(r[5] / r[4]) for r in rows) / len(rows))
    go = math.exp(sum(math.log(r[6] / r[4]) for r in rows) / len(rows))
    slower = sum(1 for r in rows if r[6] < r[4])
    print(f"# geometric mean: torch/affect {gt:.2f}, ort/affect {go:.2f}; "
          f"affect slower than onnxruntime in {slower} of {len(rows)} cells")
    worst = max(diffs, key=lambda d: d[4])
    print(f"# outputs agree: largest check difference vs torch {worst[4]:.1e} (relative to mean |h|; {worst[0]}, "
          f"{worst[1]} B={worst[2]} T={worst[3]})" + ("  ** MISMATCH **" if worst[4] > 1e-3 else ""))
    for name, p in profiles.items():
        print(f"# affect stages {LABEL.get(name, name)} B=1 T=64 1 thread (ms; mirror {p['mirror_ms']:.1f} vs real "
              f"{p['forward_ms']:.1f}): linear GEMMs {p['linear_ms']:.1f} ({p['linear_gflops']:.0f} GFLOP/s: "
              f"qkv {p['qkv_ms']:.1f}, attn-out {p['attn_out_ms']:.1f}, ffn-in {p['ffn_in_ms']:.1f}, "
              f"ffn-out {p['ffn_out_ms']:.1f}) + fused GELU {p['gelu_ms']:.1f} + attention {p['attention_ms']:.1f} "
              f"+ LayerNorm {p['layernorm_ms']:.1f} + embeddings {p['embed_ms']:.1f}")
    return 1 if worst[4] > 1e-3 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
