"""PyTorch reference for affect's encoder (test oracle, never shipped).

`transformers` is not installed, so this re-implements the eager forward passes of Hugging
Face's BertModel, DistilBertModel and RobertaModel in plain torch, following modeling_bert.py,
modeling_distilbert.py and modeling_roberta.py line by line (embeddings, extended attention
mask with finfo.min, scaled dot product, erf GELU, LayerNorm with the config's eps). Dropout
is the identity (eval mode). It reads a state dict with or without the family prefix and with
gamma/beta LayerNorm spellings, exactly the variants affect's loader must accept.

    from torch_ref import encode, pool
    hidden = encode(config_dict, state_dict, input_ids, attention_mask)  # (B,T,H) float32
    pooled = pool(hidden, attention_mask, "mean")                         # (B,H)
"""
import math

import torch
import torch.nn.functional as F

PREFIX = {"bert": "bert.", "distilbert": "distilbert.", "roberta": "roberta."}


class _Weights:
    """Looks tensors up by their name without the family prefix; gamma/beta as aliases."""

    def __init__(self, sd, model_type):
        p = PREFIX[model_type]
        self.sd = sd
        self.prefix = p if any(k.startswith(p) for k in sd) else ""

    def __call__(self, name):
        key = self.prefix + name
        if key in self.sd:
            return self.sd[key].float()
        alias = key.replace(".weight", ".gamma") if key.endswith(".weight") else key.replace(".bias", ".beta")
        return self.sd[alias].float()


def _layer_norm(x, w, W, eps):
    return F.layer_norm(x, (x.shape[-1],), W(w + ".weight"), W(w + ".bias"), eps)


def _linear(x, W, name):
    return F.linear(x, W(name + ".weight"), W(name + ".bias"))


def _bert_like(cfg, W, input_ids, attention_mask, roberta):
    H = cfg["hidden_size"]
    NH = cfg["num_attention_heads"]
    dh = H // NH
    eps = cfg.get("layer_norm_eps", 1e-12)
    B, T = input_ids.shape
    # BertEmbeddings / RobertaEmbeddings.forward
    if roberta:
        pad = cfg.get("pad_token_id", 1)
        # create_position_ids_from_input_ids
        m = input_ids.ne(pad).int()
        incremental = torch.cumsum(m, dim=1).type_as(m) * m
        position_ids = incremental.long() + pad
    else:
        position_ids = torch.arange(T).unsqueeze(0).expand(B, T)
    token_type_ids = torch.zeros_like(input_ids)
    inputs_embeds = F.embedding(input_ids, W("embeddings.word_embeddings.weight"))
    token_type_embeddings = F.embedding(token_type_ids, W("embeddings.token_type_embeddings.weight"))
    embeddings = inputs_embeds + token_type_embeddings
    position_embeddings = F.embedding(position_ids, W("embeddings.position_embeddings.weight"))
    embeddings = embeddings + position_embeddings
    h = _layer_norm(embeddings, "embeddings.LayerNorm", W, eps)
    # get_extended_attention_mask
    ext = attention_mask[:, None, None, :].to(torch.float32)
    ext = (1.0 - ext) * torch.finfo(torch.float32).min

    def heads(x):  # transpose_for_scores
        return x.view(B, T, NH, dh).permute(0, 2, 1, 3)

    for l in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{l}."
        q = heads(_linear(h, W, p + "attention.self.query"))
        k = heads(_linear(h, W, p + "attention.self.key"))
        v = heads(_linear(h, W, p + "attention.self.value"))
        scores = torch.matmul(q, k.transpose(-1, -2))
        scores = scores / math.sqrt(dh)
        scores = scores + ext
        probs = F.softmax(scores, dim=-1)
        ctx = torch.matmul(probs, v).permute(0, 2, 1, 3).contiguous().view(B, T, H)
        # BertSelfOutput
        a = _layer_norm(_linear(ctx, W, p + "attention.output.dense") + h, p + "attention.output.LayerNorm", W, eps)
        # BertIntermediate (hidden_act "gelu" = erf form) + BertOutput
        inter = F.gelu(_linear(a, W, p + "intermediate.dense"))
        h = _layer_norm(_linear(inter, W, p + "output.dense") + a, p + "output.LayerNorm", W, eps)
    return h


def _distilbert(cfg, W, input_ids, attention_mask):
    H = cfg["dim"]
    NH = cfg["n_heads"]
    dh = H // NH
    eps = 1e-12
    B, T = input_ids.shape
    # Embeddings.forward
    position_ids = torch.arange(T).unsqueeze(0).expand(B, T)
    emb = F.embedding(input_ids, W("embeddings.word_embeddings.weight")) + F.embedding(
        position_ids, W("embeddings.position_embeddings.weight"))
    x = _layer_norm(emb, "embeddings.LayerNorm", W, eps)

    def shape(t):
        return t.view(B, -1, NH, dh).transpose(1, 2)

    def unshape(t):
        return t.transpose(1, 2).contiguous().view(B, -1, NH * dh)

    for l in range(cfg["n_layers"]):
        p = f"transformer.layer.{l}."
        # MultiHeadSelfAttention.forward
        q = shape(_linear(x, W, p + "attention.q_lin"))
        k = shape(_linear(x, W, p + "attention.k_lin"))
        v = shape(_linear(x, W, p + "attention.v_lin"))
        q = q / math.sqrt(dh)
        scores = torch.matmul(q, k.transpose(2, 3))
        mask = (attention_mask == 0).view(B, 1, 1, T).expand_as(scores)
        scores = scores.masked_fill(mask, torch.tensor(torch.finfo(scores.dtype).min))
        weights = F.softmax(scores, dim=-1)
        context = unshape(torch.matmul(weights, v))
        sa = _linear(context, W, p + "attention.out_lin")
        # TransformerBlock.forward
        sa = _layer_norm(sa + x, p + "sa_layer_norm", W, eps)
        ffn = _linear(F.gelu(_linear(sa, W, p + "ffn.lin1")), W, p + "ffn.lin2")
        x = _layer_norm(ffn + sa, p + "output_layer_norm", W, eps)
    return x


@torch.no_grad()
def encode(cfg, state_dict, input_ids, attention_mask):
    """Last hidden state (B,T,H) of the model `cfg` (a parsed config.json) in float32."""
    input_ids = torch.as_tensor(input_ids, dtype=torch.long)
    attention_mask = torch.as_tensor(attention_mask, dtype=torch.long)
    mt = cfg["model_type"]
    W = _Weights(state_dict, mt)
    if mt == "distilbert":
        return _distilbert(cfg, W, input_ids, attention_mask)
    if mt in ("bert", "roberta"):
        return _bert_like(cfg, W, input_ids, attention_mask, mt == "roberta")
    raise ValueError(f"unknown model_type {mt}")


@torch.no_grad()
def pool(hidden, attention_mask, how):
    """Masked mean over real tokens (sentence-transformers' formula), or the first token."""
    if how == "cls":
        return hidden[:, 0]
    m = torch.as_tensor(attention_mask, dtype=torch.float32).unsqueeze(-1)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
