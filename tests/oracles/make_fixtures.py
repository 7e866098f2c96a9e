"""Tiny random checkpoints in each family's exact Hugging Face layout (test fixtures).

Each fixture is a model folder: config.json in the family's own key names (the real
configs' keys, sizes shrunk), the real tokenizer files copied from $AFFECT_SHARED/models
(vocab_size stays real, so real text tokenizes), and weights in one of the formats affect
must read:

    safetensors      model.safetensors, written by hand (u64 LE header length + JSON + data)
    safetensors-f16  the same with F16 tensors;  safetensors-bf16: BF16
    zip              pytorch_model.bin, torch.save (zip format, torch >= 1.6)
    legacy           pytorch_model.bin, torch.save(..., _use_new_zipfile_serialization=False)

The state dicts carry what real checkpoints carry and the loader must ignore (pooler, MLM
heads, TinyBERT's fit_denses, position_ids buffers) and spell LayerNorm as weight/bias or
gamma/beta. `make(spec, fmt, out_dir)` returns (config dict, the float32 state dict exactly
as stored, i.e. after F16/BF16 rounding) so the oracle runs on the same numbers.
"""
import json
import os
import shutil
import struct

import torch

SHARED_MODELS = os.path.join(os.environ.get("AFFECT_SHARED", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared")), "models")

# name -> (model_type, sizes, options)
SPECS = {
    # bert-base-like: prefixed, pooler + MLM head + position_ids buffer present
    "bert": dict(model_type="bert", H=32, L=2, NH=4, F=37, P=64, TV=2, prefix=True, extras=True,
                 tok="bert-base-uncased", tok_files=["vocab.txt", "tokenizer.json", "tokenizer_config.json"]),
    # a bare BertModel save: no "bert." prefix, old gamma/beta LayerNorm names
    "bert-bare-gamma": dict(model_type="bert", H=32, L=2, NH=4, F=40, P=64, TV=2, prefix=False,
                            gamma=True, tok="bert-base-uncased", tok_files=["vocab.txt", "tokenizer.json"]),
    # TinyBERT-like: head size 26, fit_denses, config without eps/pad, vocab.txt only
    "tinybert": dict(model_type="bert", H=78, L=2, NH=3, F=100, P=64, TV=2, prefix=True, extras=True,
                     fit_denses=True, tinybert_config=True, emb_std=0.005, tok="TinyBERT_General_4L_312D",
                     tok_files=["vocab.txt"]),
    "distilbert": dict(model_type="distilbert", H=32, L=2, NH=4, F=48, P=64, prefix=True, extras=True, emb_std=0.005,
                       tok="distilbert-base-uncased", tok_files=["vocab.txt", "tokenizer.json"]),
    # MiniLMv2-like RoBERTa: pad 1, positions from pad+1, type_vocab 1, eps 1e-5
    "roberta": dict(model_type="roberta", H=32, L=2, NH=4, F=64, P=66, TV=1, prefix=True, extras=True, emb_std=0.005,
                    tok="roberta-base", tok_files=["vocab.json", "merges.txt", "tokenizer.json", "tokenizer_config.json"]),
}
FORMATS = ["safetensors", "safetensors-f16", "safetensors-bf16", "zip", "legacy"]


def config_for(spec):
    """config.json in the family's exact key names (copied from the real configs)."""
    s = SPECS[spec]
    if s["model_type"] == "distilbert":
        return {"activation": "gelu", "architectures": ["DistilBertForMaskedLM"], "attention_dropout": 0.1,
                "dim": s["H"], "dropout": 0.1, "hidden_dim": s["F"], "initializer_range": 0.02,
                "max_position_embeddings": s["P"], "model_type": "distilbert", "n_heads": s["NH"],
                "n_layers": s["L"], "pad_token_id": 0, "qa_dropout": 0.1, "seq_classif_dropout": 0.2,
                "sinusoidal_pos_embds": False, "tie_weights_": True, "transformers_version": "4.10.0.dev0",
                "vocab_size": 30522}
    if s["model_type"] == "roberta":
        return {"architectures": ["RobertaForMaskedLM"], "attention_probs_dropout_prob": 0.1, "bos_token_id": 0,
                "eos_token_id": 2, "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": s["H"],
                "initializer_range": 0.02, "intermediate_size": s["F"], "layer_norm_eps": 1e-05,
                "max_position_embeddings": s["P"], "model_type": "roberta", "num_attention_heads": s["NH"],
                "num_hidden_layers": s["L"], "pad_token_id": 1, "type_vocab_size": 1, "vocab_size": 50265}
    if s.get("tinybert_config"):
        return {"attention_probs_dropout_prob": 0.1, "cell": {}, "emb_size": s["H"], "hidden_act": "gelu",
                "hidden_dropout_prob": 0.1, "hidden_size": s["H"], "initializer_range": 0.02,
                "intermediate_size": s["F"], "max_position_embeddings": s["P"], "model_type": "bert",
                "num_attention_heads": s["NH"], "num_hidden_layers": s["L"], "pre_trained": "",
                "structure": [], "type_vocab_size": 2, "vocab_size": 30522}
    return {"architectures": ["BertForMaskedLM"], "attention_probs_dropout_prob": 0.1,
            "gradient_checkpointing": False, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
            "hidden_size": s["H"], "initializer_range": 0.02, "intermediate_size": s["F"],
            "layer_norm_eps": 1e-12, "max_position_embeddings": s["P"], "model_type": "bert",
            "num_attention_heads": s["NH"], "num_hidden_layers": s["L"], "pad_token_id": 0,
            "position_embedding_type": "absolute", "transformers_version": "4.6.0.dev0",
            "type_vocab_size": s["TV"], "use_cache": True, "vocab_size": 30522}


def state_dict_for(spec, seed=0):
    """Random weights, scaled so activations are O(1) and attention is far from uniform
    (a masking or position bug then moves outputs by ~0.1, far above the 1e-4 budget)."""
    s = SPECS[spec]
    cfg = config_for(spec)
    g = torch.Generator().manual_seed(seed)
    H, L, Fd, P = s["H"], s["L"], s["F"], s["P"]
    V = cfg["vocab_size"]

    def rn(*shape, std=1.0):
        return torch.randn(*shape, generator=g) * std

    def lin(o, i, std=None):
        return rn(o, i, std=std or 1.0 / i ** 0.5), rn(o, std=0.1)

    def ln():
        return 1.0 + rn(H, std=0.1), rn(H, std=0.1)

    sd = {}
    mt = s["model_type"]
    pre = {"bert": "bert.", "distilbert": "distilbert.", "roberta": "roberta."}[mt] if s.get("prefix") else ""
    wn, bn = ("gamma", "beta") if s.get("gamma") else ("weight", "bias")

    def put_lin(name, o, i, std=None):
        w, b = lin(o, i, std)
        sd[pre + name + ".weight"], sd[pre + name + ".bias"] = w, b

    def put_ln(name):
        w, b = ln()
        sd[pre + name + "." + wn], sd[pre + name + "." + bn] = w, b

    # Small embeddings (variance ~1e-4) make the embedding LayerNorm's eps visible: a wrong
    # eps (1e-5 vs 1e-12) then moves outputs by ~0.1 instead of ~1e-5.
    es = s.get("emb_std", 0.5)
    sd[pre + "embeddings.word_embeddings.weight"] = rn(V, H, std=es)
    sd[pre + "embeddings.position_embeddings.weight"] = rn(P, H, std=es)
    if mt != "distilbert":
        sd[pre + "embeddings.token_type_embeddings.weight"] = rn(s["TV"], H, std=es)
        if s.get("extras"):
            sd[pre + "embeddings.position_ids"] = torch.arange(P).unsqueeze(0)
    put_ln("embeddings.LayerNorm")
    sharp = 3.0 / H ** 0.5  # q/k weights: peaked attention
    for l in range(L):
        if mt == "distilbert":
            p = f"transformer.layer.{l}."
            put_lin(p + "attention.q_lin", H, H, sharp)
            put_lin(p + "attention.k_lin", H, H, sharp)
            put_lin(p + "attention.v_lin", H, H)
            put_lin(p + "attention.out_lin", H, H)
            put_ln(p + "sa_layer_norm")
            put_lin(p + "ffn.lin1", Fd, H)
            put_lin(p + "ffn.lin2", H, Fd)
            put_ln(p + "output_layer_norm")
        else:
            p = f"encoder.layer.{l}."
            put_lin(p + "attention.self.query", H, H, sharp)
            put_lin(p + "attention.self.key", H, H, sharp)
            put_lin(p + "attention.self.value", H, H)
            put_lin(p + "attention.output.dense", H, H)
            put_ln(p + "attention.output.LayerNorm")
            put_lin(p + "intermediate.dense", Fd, H)
            put_lin(p + "output.dense", H, Fd)
            put_ln(p + "output.LayerNorm")
    if s.get("extras"):  # what real checkpoints also carry; must be ignored
        if mt == "bert":
            put_lin("pooler.dense", H, H)
            sd["cls.predictions.bias"] = rn(V, std=0.1)
            sd["cls.predictions.transform.dense.weight"] = rn(H, H)
            sd["cls.predictions.transform.dense.bias"] = rn(H)
            sd["cls.predictions.transform.LayerNorm.weight"] = rn(H)
            sd["cls.predictions.transform.LayerNorm.bias"] = rn(H)
            sd["cls.predictions.decoder.weight"] = sd[pre + "embeddings.word_embeddings.weight"]
        elif mt == "distilbert":
            sd["vocab_transform.weight"], sd["vocab_transform.bias"] = rn(H, H), rn(H)
            sd["vocab_layer_norm.weight"], sd["vocab_layer_norm.bias"] = rn(H), rn(H)
            sd["vocab_projector.weight"] = sd[pre + "embeddings.word_embeddings.weight"]
            sd["vocab_projector.bias"] = rn(V)
        else:
            sd["lm_head.dense.weight"], sd["lm_head.dense.bias"] = rn(H, H), rn(H)
            sd["lm_head.layer_norm.weight"], sd["lm_head.layer_norm.bias"] = rn(H), rn(H)
            sd["lm_head.decoder.weight"] = sd[pre + "embeddings.word_embeddings.weight"]
            sd["lm_head.bias"] = rn(V)
    if s.get("fit_denses"):
        for i in range(L + 1):
            sd[f"fit_denses.{i}.weight"], sd[f"fit_denses.{i}.bias"] = rn(4 * H, H), rn(4 * H)
    return cfg, sd


ST_DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64"}


def write_safetensors(path, sd, dtype=torch.float32):
    """The safetensors format by hand: 8-byte little-endian header size, JSON header
    (dtype, shape, data_offsets relative to the data section), padded with spaces to a
    multiple of 8, then the raw little-endian tensor bytes. Shared tensors are written once
    per name (safetensors forbids aliasing, so tied weights are duplicated here)."""
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(sd):
        t = sd[name]
        if t.is_floating_point():
            t = t.to(dtype)
        t = t.contiguous()
        raw = t.view(torch.uint8).numpy().tobytes() if t.dtype == torch.bfloat16 else t.numpy().tobytes()
        header[name] = {"dtype": ST_DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    hj = json.dumps(header, separators=(",", ":")).encode()
    hj += b" " * ((8 - len(hj) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for b in blobs:
            f.write(b)


def make(spec, fmt, out_dir, mutate=None):
    """Writes one fixture folder; returns (config dict, float32 state dict as stored).
    `mutate(cfg, sd)` may edit both before writing (error-path fixtures)."""
    cfg, sd = state_dict_for(spec)
    if mutate:
        mutate(cfg, sd)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    s = SPECS[spec]
    for name in s["tok_files"]:
        shutil.copyfile(os.path.join(SHARED_MODELS, s["tok"], name), os.path.join(out_dir, name))
    stored = dict(sd)
    if fmt.startswith("safetensors"):
        dt = {"safetensors": torch.float32, "safetensors-f16": torch.float16, "safetensors-bf16": torch.bfloat16}[fmt]
        write_safetensors(os.path.join(out_dir, "model.safetensors"), sd, dt)
        stored = {k: (v.to(dt).float() if v.is_floating_point() else v) for k, v in sd.items()}
    elif fmt == "zip":
        torch.save(sd, os.path.join(out_dir, "pytorch_model.bin"))
    elif fmt == "legacy":
        torch.save(sd, os.path.join(out_dir, "pytorch_model.bin"), _use_new_zipfile_serialization=False)
    else:
        raise ValueError(fmt)
    return cfg, stored


if __name__ == "__main__":
    import sys
    out = sys.argv[1] if len(sys.argv) > 1 else "fixtures"
    for spec in SPECS:
        for fmt in FORMATS:
            make(spec, fmt, os.path.join(out, f"{spec}-{fmt}"))
    print(f"wrote {len(SPECS) * len(FORMATS)} fixtures under {out}")
