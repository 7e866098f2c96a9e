"""PyTorch's side of the training-step benchmark (bench/train.sh drives it; never a test).

    /usr/bin/python3 bench/torch_train_peer.py CONFIG_JSON B T THREADS WARM STEPS [SEED]

The same step as bench/bench_train.c, in float32 on the Debian python3-torch CPU build: the
EmotionModel of tests/oracles/emotion_ref.py (Hugging Face's eager encoder forward for the
family, restated in plain torch as tests/oracles/torch_ref.py does, because `transformers` is
not installed; masked-mean pooling; emotion and intensity heads), its loss (BCE with
pos_weight on every row + 0.1 * L1 on every other row + 0.1 * multi-similarity), backward,
clip_grad_norm_(1.0), torch.optim.AdamW(lr 3e-5, weight_decay 0.01; biases and LayerNorm in
a no-decay group, as the HF Trainer does). Dropout off (the reference has none). Parameters
are random leaf tensors (N(0, 0.02) matrices and embeddings, LayerNorm gains 1, biases 0),
the word embedding a dense parameter as in nn.Embedding(sparse=False), so AdamW updates the
whole table each step on both sides. 28 labels, all rows labelled, mask all ones.

Prints one JSON line with the same keys as bench_train (micro_ms = forward + loss +
backward, opt_ms = clipping + AdamW + zero_grad), the OpenBLAS core torch's BLAS runs
(openblas_get_corename from the libopenblas mapped into this process) and peak RSS
(ru_maxrss). The driver sets the environment (threads, OMP_WAIT_POLICY, malloc tunables).
"""
import ctypes
import json
import os
import resource
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "oracles"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from emotion_ref import PREFIX, loss_terms, no_decay  # noqa: E402

NUM_LABELS = 28


def openblas_corename():
    """The core of the libopenblas this process mapped (torch's BLAS), or a reason."""
    try:
        with open("/proc/self/maps") as f:
            libs = sorted({line.split()[-1] for line in f if "libopenblas" in line or "libblas" in line})
    except OSError:
        return "unknown"
    for path in libs:
        try:
            lib = ctypes.CDLL(path)
            fn = lib.openblas_get_corename
        except (OSError, AttributeError):
            continue
        fn.restype = ctypes.c_char_p
        return fn().decode()
    return "no openblas mapped (%s)" % (",".join(libs) or "none")


def param_shapes(cfg):
    """Family-prefixed parameter names and shapes, as make_models.py lays them out."""
    mt = cfg["model_type"]
    pre = PREFIX[mt]
    sd = {}
    if mt == "distilbert":
        H, L, F, V, P = cfg["dim"], cfg["n_layers"], cfg["hidden_dim"], cfg["vocab_size"], cfg["max_position_embeddings"]
    else:
        H, L, F, V, P = (cfg["hidden_size"], cfg["num_hidden_layers"], cfg["intermediate_size"],
                         cfg["vocab_size"], cfg["max_position_embeddings"])

    def lin(name, o, i):
        sd[pre + name + ".weight"] = (o, i)
        sd[pre + name + ".bias"] = (o,)

    def ln(name):
        sd[pre + name + ".weight"] = (H,)
        sd[pre + name + ".bias"] = (H,)

    sd[pre + "embeddings.word_embeddings.weight"] = (V, H)
    sd[pre + "embeddings.position_embeddings.weight"] = (P, H)
    if mt != "distilbert":
        sd[pre + "embeddings.token_type_embeddings.weight"] = (cfg.get("type_vocab_size", 2), H)
    ln("embeddings.LayerNorm")
    for l in range(L):
        if mt == "distilbert":
            p = f"transformer.layer.{l}."
            for n in ("q_lin", "k_lin", "v_lin", "out_lin"):
                lin(p + "attention." + n, H, H)
            ln(p + "sa_layer_norm")
            lin(p + "ffn.lin1", F, H)
            lin(p + "ffn.lin2", H, F)
            ln(p + "output_layer_norm")
        else:
            p = f"encoder.layer.{l}."
            for n in ("query", "key", "value"):
                lin(p + "attention.self." + n, H, H)
            lin(p + "attention.output.dense", H, H)
            ln(p + "attention.output.LayerNorm")
            lin(p + "intermediate.dense", F, H)
            lin(p + "output.dense", H, F)
            ln(p + "output.LayerNorm")
    sd["heads.emotion.0.weight"] = (H, H)
    sd["heads.emotion.0.bias"] = (H,)
    sd["heads.emotion.2.weight"] = (NUM_LABELS, H)
    sd["heads.emotion.2.bias"] = (NUM_LABELS,)
    sd["heads.intensity.0.weight"] = (H, H)
    sd["heads.intensity.0.bias"] = (H,)
    sd["heads.intensity.2.weight"] = (1, H)
    sd["heads.intensity.2.bias"] = (1,)
    return sd


def main():
    if len(sys.argv) not in (7, 8):
        sys.exit("usage: torch_train_peer.py CONFIG_JSON B T THREADS WARM STEPS [SEED]")
    with open(sys.argv[1]) as f:
        cfg = json.load(f)
    B, T, threads, warm, steps = (int(a) for a in sys.argv[2:7])
    seed = int(sys.argv[7]) if len(sys.argv) == 8 else 1234
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)

    params = {}
    for name, shape in param_shapes(cfg).items():
        if len(shape) == 2:
            t = torch.randn(*shape) * 0.02
        elif name.endswith("bias"):
            t = torch.zeros(*shape)
        else:
            t = torch.ones(*shape)
        params[name] = t.requires_grad_(True)
    decay = [p for n, p in params.items() if not no_decay(n)]
    nodecay = [p for n, p in params.items() if no_decay(n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                             {"params": nodecay, "weight_decay": 0.0}], lr=3e-5)

    mt = cfg["model_type"]
    pad = cfg.get("pad_token_id", 1 if mt == "roberta" else 0)
    V = cfg["vocab_size"]
    labels = (rng.random((B, NUM_LABELS)) < 0.12).astype(np.float64)
    for b in range(B):
        if not labels[b].any():
            labels[b, rng.integers(0, NUM_LABELS)] = 1.0
    batch = {"ids": rng.integers(pad + 1, V, (B, T)).tolist(), "mask": [[1] * T] * B,
             "labels": labels.tolist(), "label_row": [1] * B,
             "intensity": rng.random(B).tolist(), "intensity_row": [int(b % 2 == 0) for b in range(B)]}
    opts = {"pool": "mean", "w_int": 0.1, "w_ms": 0.1,
            "pos_weight": (1.0 + 4.0 * rng.random(NUM_LABELS)).tolist()}
    allp = list(params.values())

    step_ms, micro_ms, opt_ms, losses = [], [], [], []
    for i in range(warm + steps):
        t0 = time.perf_counter()
        loss, _ = loss_terms(cfg, params, batch, opts, torch.float32)
        loss.backward()
        t1 = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(allp, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        t2 = time.perf_counter()
        if i >= warm:
            micro_ms.append((t1 - t0) * 1e3)
            opt_ms.append((t2 - t1) * 1e3)
            step_ms.append((t2 - t0) * 1e3)
            losses.append(float(loss))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"engine": "torch", "corename": openblas_corename(), "threads": threads,
                      "B": B, "T": T, "median_ms": float(np.median(step_ms)),
                      "step_ms": step_ms, "micro_ms": micro_ms, "opt_ms": opt_ms,
                      "loss": losses, "peak_rss_mb": rss,
                      "torch": torch.__version__, "torch_threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
