"""Full-size random-weight model folders for the forward-pass benchmark (never shipped).

Each folder looks like what Hugging Face publishes for the real model: the real config.json
(copied from $AFFECT_SHARED/models, so every key is the family's own), the real tokenizer
files, and model.safetensors in the family's exact key layout, float32, random weights (the
timing does not depend on the values; LayerNorm gains/biases are randomised too so the
engines' outputs can be compared meaningfully). Folders are cached under the build dir,
keyed by shape and seed, and written atomically, so repeated runs cost nothing.

    /usr/bin/python3 bench/make_models.py OUT_DIR [distilbert minilm tinybert]
    -> prints one line per model: NAME<TAB>FOLDER

`read_safetensors(path)` is the matching reader (numpy only) that bench/torch_peer.py uses.
"""
import json
import os
import shutil
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.environ.get("AFFECT_SHARED", os.path.join(HERE, "..", "..", "shared"))
MODELS_SRC = os.path.join(SHARED, "models")

# name -> where its real config and tokenizer files live
MODELS = {
    "distilbert": dict(config="distilbert-base-uncased", tok="distilbert-base-uncased",
                       tok_files=["vocab.txt", "tokenizer.json"]),
    "minilm": dict(config="MiniLMv2-L12-H384-distilled-from-RoBERTa-Large", tok="roberta-base",
                   tok_files=["vocab.json", "merges.txt", "tokenizer.json", "tokenizer_config.json"]),
    "tinybert": dict(config="TinyBERT_General_4L_312D", tok="TinyBERT_General_4L_312D",
                     tok_files=["vocab.txt"]),
}
FORMAT_VERSION = 1  # bump when the weight recipe changes, to invalidate caches
SEED = 1234


def dims(cfg):
    """(model_type, H, L, NH, F, V, P, TV) from a config in either naming scheme."""
    mt = cfg["model_type"]
    if mt == "distilbert":
        return mt, cfg["dim"], cfg["n_layers"], cfg["n_heads"], cfg["hidden_dim"], cfg["vocab_size"], \
            cfg["max_position_embeddings"], 0
    return mt, cfg["hidden_size"], cfg["num_hidden_layers"], cfg["num_attention_heads"], \
        cfg["intermediate_size"], cfg["vocab_size"], cfg["max_position_embeddings"], cfg.get("type_vocab_size", 2)


def state_dict(cfg, seed=SEED):
    """name -> float32 array, in the family's Hugging Face key layout (with its prefix)."""
    mt, H, L, NH, F, V, P, TV = dims(cfg)
    rng = np.random.default_rng(seed)

    def normal(*shape, std=0.02):
        return (rng.standard_normal(shape, dtype=np.float32) * np.float32(std)).astype(np.float32)

    def ln(name, sd):
        sd[name + ".weight"] = (1.0 + normal(H, std=0.1)).astype(np.float32)
        sd[name + ".bias"] = normal(H, std=0.05)

    def lin(name, sd, out_f, in_f):
        sd[name + ".weight"] = normal(out_f, in_f)
        sd[name + ".bias"] = normal(out_f)

    sd = {}
    if mt == "distilbert":
        p = "distilbert."
        sd[p + "embeddings.word_embeddings.weight"] = normal(V, H)
        sd[p + "embeddings.position_embeddings.weight"] = normal(P, H)
        ln(p + "embeddings.LayerNorm", sd)
        for l in range(L):
            q = f"{p}transformer.layer.{l}."
            for n in ("q_lin", "k_lin", "v_lin", "out_lin"):
                lin(q + "attention." + n, sd, H, H)
            ln(q + "sa_layer_norm", sd)
            lin(q + "ffn.lin1", sd, F, H)
            lin(q + "ffn.lin2", sd, H, F)
            ln(q + "output_layer_norm", sd)
        return sd
    p = "roberta." if mt == "roberta" else "bert."
    sd[p + "embeddings.word_embeddings.weight"] = normal(V, H)
    sd[p + "embeddings.position_embeddings.weight"] = normal(P, H)
    sd[p + "embeddings.token_type_embeddings.weight"] = normal(TV, H)
    ln(p + "embeddings.LayerNorm", sd)
    for l in range(L):
        q = f"{p}encoder.layer.{l}."
        for n in ("query", "key", "value"):
            lin(q + "attention.self." + n, sd, H, H)
        lin(q + "attention.output.dense", sd, H, H)
        ln(q + "attention.output.LayerNorm", sd)
        lin(q + "intermediate.dense", sd, F, H)
        lin(q + "output.dense", sd, H, F)
        ln(q + "output.LayerNorm", sd)
    return sd


def write_safetensors(path, sd):
    """The safetensors layout by hand: u64 LE header length, JSON header, raw F32 data."""
    header, off = {}, 0
    for k, v in sd.items():
        n = v.size * 4
        header[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [off, off + n]}
        off += n
    hb = json.dumps(header, separators=(",", ":")).encode()
    hb += b" " * (-len(hb) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for v in sd.values():
            f.write(np.ascontiguousarray(v, dtype="<f4").tobytes())


def read_safetensors(path):
    """name -> float32 numpy array (copies, so torch may own them)."""
    with open(path, "rb") as f:
        data = f.read()
    (hl,) = struct.unpack_from("<Q", data, 0)
    header = json.loads(data[8:8 + hl])
    base = 8 + hl
    out = {}
    for k, meta in header.items():
        if k == "__metadata__":
            continue
        if meta["dtype"] != "F32":
            raise ValueError(f"{path}: {k} is {meta['dtype']}, only F32 expected here")
        b, e = meta["data_offsets"]
        out[k] = np.frombuffer(data, dtype="<f4", count=(e - b) // 4, offset=base + b).reshape(meta["shape"]).copy()
    return out


def folder_name(name, cfg):
    mt, H, L, NH, F, V, P, TV = dims(cfg)
    return f"{name}-{mt}-L{L}-H{H}-A{NH}-F{F}-V{V}-P{P}-T{TV}-seed{SEED}-v{FORMAT_VERSION}"


def make(name, out_root):
    """The cached folder of `name`, creating it first if needed."""
    spec = MODELS[name]
    with open(os.path.join(MODELS_SRC, spec["config"], "config.json")) as f:
        cfg = json.load(f)
    folder = os.path.join(out_root, folder_name(name, cfg))
    if os.path.exists(os.path.join(folder, "model.safetensors")):
        return folder
    os.makedirs(out_root, exist_ok=True)
    tmp = folder + f".tmp{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    shutil.copyfile(os.path.join(MODELS_SRC, spec["config"], "config.json"), os.path.join(tmp, "config.json"))
    for fn in spec["tok_files"]:
        shutil.copyfile(os.path.join(MODELS_SRC, spec["tok"], fn), os.path.join(tmp, fn))
    write_safetensors(os.path.join(tmp, "model.safetensors"), state_dict(cfg))
    shutil.rmtree(folder, ignore_errors=True)
    os.rename(tmp, folder)
    return folder


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    names = argv[2:] or list(MODELS)
    for n in names:
        if n not in MODELS:
            print(f"make_models: unknown model {n!r} (known: {', '.join(MODELS)})", file=sys.stderr)
            return 2
        print(f"{n}\t{make(n, argv[1])}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
