"""PyTorch's side of the forward-pass benchmark, and the ONNX exporter for onnxruntime's.

The model is tests/oracles/torch_ref.py (the encoder oracle: Hugging Face's eager forward
passes in plain torch), run on the same model.safetensors that affect loads, so all three
engines compute the same function on the same numbers.

    torch_peer.py serve MODEL_DIR      answers the bench_forward protocol on stdin/stdout:
        run IDS B T THREADS WARM REPS -> {"ts":[ms per timed rep],"check":[..]}
    torch_peer.py export MODEL_DIR OUT.onnx
        torch.onnx.export, opset 14, dynamic batch/seq axes, inputs input_ids + attention_mask
        (int64), output last_hidden_state

Threads: torch.set_num_threads(n) for ATen/OpenMP and openblas_set_num_threads(n) on the
OpenBLAS that torch's BLAS calls land in (Debian's torch uses the system libblas), so "1
thread" means one thread for both.
"""
import ctypes
import json
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "oracles"))
sys.path.insert(0, HERE)
import torch_ref  # noqa: E402
from make_models import read_safetensors  # noqa: E402


def load(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    sd = {k: torch.from_numpy(v) for k, v in read_safetensors(os.path.join(model_dir, "model.safetensors")).items()}
    return cfg, sd


class Encoder(torch.nn.Module):
    """torch_ref.encode as a module, so torch.onnx.export can trace it."""

    def __init__(self, cfg, sd):
        super().__init__()
        self.cfg, self.sd = cfg, sd

    def forward(self, input_ids, attention_mask):
        return torch_ref.encode(self.cfg, self.sd, input_ids, attention_mask)


def openblas():
    """The OpenBLAS library torch's BLAS calls resolve to (after one matmul has loaded it)."""
    torch.nn.functional.linear(torch.ones(8, 8), torch.ones(8, 8))
    with open("/proc/self/maps") as f:
        paths = sorted({l.split()[-1] for l in f if "libopenblas" in l})
    for p in paths:
        try:
            lib = ctypes.CDLL(p)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            lib.openblas_get_corename()
            return lib
        except (OSError, AttributeError):
            continue
    return None


class _ExportFunctional:
    """torch.nn.functional for torch_ref during export only: torch 1.13's tracer turns
    torch_ref's `(x.shape[-1],)` into a traced value, which the ONNX layer_norm symbolic
    rejects; the weight's (constant) shape is the same number. Everything else is F's."""

    def __getattr__(self, name):
        return getattr(torch.nn.functional, name)

    @staticmethod
    def layer_norm(x, normalized_shape, weight, bias, eps):
        return torch.nn.functional.layer_norm(x, tuple(weight.shape), weight, bias, eps)


def export(model_dir, out):
    cfg, sd = load(model_dir)
    torch_ref.F = _ExportFunctional()
    m = Encoder(cfg, sd).eval()
    lo = 1000 if cfg["model_type"] != "roberta" else 10
    ids = torch.randint(lo, cfg["vocab_size"] - 10, (2, 16), dtype=torch.long)
    mask = torch.ones_like(ids)
    tmp = out + f".tmp{os.getpid()}"
    with torch.no_grad():
        torch.onnx.export(m, (ids, mask), tmp, input_names=["input_ids", "attention_mask"],
                          output_names=["last_hidden_state"], opset_version=14, do_constant_folding=True,
                          dynamic_axes={"input_ids": {0: "batch", 1: "seq"},
                                        "attention_mask": {0: "batch", 1: "seq"},
                                        "last_hidden_state": {0: "batch", 1: "seq"}})
    os.replace(tmp, out)


def serve(model_dir):
    cfg, sd = load(model_dir)
    blas = openblas()
    core = blas.openblas_get_corename().decode() if blas else "unknown (no OpenBLAS found in torch's process)"
    print(json.dumps({"ready": 1, "core": core, "torch": torch.__version__,
                      "cpu_capability": torch.backends.cpu.get_cpu_capability()
                      if hasattr(torch.backends, "cpu") and hasattr(torch.backends.cpu, "get_cpu_capability") else "",
                      "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "")}), flush=True)
    for line in sys.stdin:
        parts = line.split()
        if not parts or parts[0] == "quit":
            break
        if parts[0] != "run" or len(parts) != 7:
            print(f"torch_peer: unknown command: {line.strip()}", file=sys.stderr)
            return 2
        path, B, T, th, warm, reps = parts[1], *map(int, parts[2:7])
        ids = torch.from_numpy(np.fromfile(path, dtype="<i4", count=B * T).astype(np.int64).reshape(B, T))
        mask = torch.ones_like(ids)
        torch.set_num_threads(th)
        if blas:
            blas.openblas_set_num_threads(th)
        ts = []
        with torch.inference_mode():
            for _ in range(warm):
                torch_ref.encode(cfg, sd, ids, mask)
            for _ in range(max(reps, 1)):
                t0 = time.perf_counter()
                h = torch_ref.encode(cfg, sd, ids, mask)
                ts.append((time.perf_counter() - t0) * 1e3)
        hf = h.reshape(-1)
        print(json.dumps({"ts": ts, "check": [float(h.abs().mean())] + [float(x) for x in hf[:4]]}), flush=True)
    return 0


def main(argv):
    if len(argv) == 3 and argv[1] == "serve":
        return serve(argv[2])
    if len(argv) == 4 and argv[1] == "export":
        export(argv[2], argv[3])
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
