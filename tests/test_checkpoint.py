"""Checkpoints, the exported model folder and `affect predict` (src/train/checkpoint.c,
src/core/model/heads_infer.c, src/cli/predict.c), against independent oracles.

1. Round trip: a tiny EmotionModel trains a few steps (dropout on, accumulation 2), is saved,
   loaded into a fresh trainer: every parameter, gradient, AdamW moment and step count is
   bit-identical, "extra" comes back verbatim, and both trainers then train on bit-identically
   (tests/tools/ckpt_tool.c does the bitwise work). For bert, distilbert and roberta.
2. Refusals: a checkpoint of another model (other label count, other FFN size, other family)
   names the tensor and both shapes; truncated / corrupt / incomplete checkpoints are refused
   with AFFECT_EFORMAT; a refused load leaves the trainer untouched.
3. Crash and full disk: "<dir>.old" alone (a crash between the publish renames) loads; a save
   that runs out of space (injected ENOSPC at several offsets, and a real 18 MB tmpfs when this
   sandbox may mount one) fails and the previous checkpoint still loads bit-identically, with
   no staging folder left behind.
4. A PyTorch user: the exported model.safetensors, read by a 20-line Python reader, holds the
   family's exact key names; tests/oracles/torch_ref.py on those weights (ids from Hugging Face
   tokenizers on the exported tokenizer.json) matches `affect embed` on the folder (<= 1e-4),
   and the EmotionModel reference (tests/oracles/emotion_ref.py heads) matches
   `affect predict`'s probabilities (<= 1e-5) and intensity (<= 1e-5).
"""
import json
import os
import shutil
import struct
import subprocess
import sys

import numpy as np
import torch

SRC = os.environ["AFFECT_SRC"]
BIN = os.environ["AFFECT_BIN"]
TOOLS = os.environ["AFFECT_TOOLS"]
TMP = os.path.join(os.environ.get("AFFECT_TEST_TMP", "/tmp"), "checkpoint")
sys.path.insert(0, os.path.join(SRC, "tests", "oracles"))
from make_fixtures import make, write_safetensors  # noqa: E402
from emotion_ref import heads_forward  # noqa: E402
from torch_ref import encode, pool  # noqa: E402

TOOL = os.path.join(TOOLS, "ckpt_tool")
failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL:", msg)
    return cond


def run(*args, env=None, inp=None):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, env=e, input=inp)


def make_model(spec, out, L, mutate=None):
    """A fixture encoder (real tokenizer files, family key names) plus random heads."""
    cfg, sd = make(spec, "safetensors", out, mutate)
    g = torch.Generator().manual_seed(5)
    H = [v for k, v in sd.items() if k.endswith("word_embeddings.weight")][0].shape[1]
    hs = 1.0 / H ** 0.5

    def rn(*s, std=1.0):
        return torch.randn(*s, generator=g) * std
    sd["heads.emotion.0.weight"], sd["heads.emotion.0.bias"] = rn(H, H, std=hs), rn(H, std=0.1)
    sd["heads.emotion.2.weight"], sd["heads.emotion.2.bias"] = rn(L, H, std=hs), rn(L, std=0.5)
    sd["heads.intensity.0.weight"], sd["heads.intensity.0.bias"] = rn(H, H, std=hs), rn(H, std=0.1)
    sd["heads.intensity.2.weight"], sd["heads.intensity.2.bias"] = rn(1, H, std=hs), torch.tensor([0.5])
    write_safetensors(os.path.join(out, "model.safetensors"), sd)
    return cfg


def read_safetensors(path):
    """The format by hand: u64 LE header length, JSON header, raw little-endian data."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack_from("<Q", data, 0)
    header = json.loads(data[8:8 + n])
    base = 8 + n
    meta = header.pop("__metadata__", None)
    out = {}
    for name, e in header.items():
        dt = {"F32": np.float32, "I64": np.int64}[e["dtype"]]
        a, b = e["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[base + a:base + b], dtype=dt).reshape(e["shape"]).copy())
    return out, meta


def tool_json(r):
    return json.loads(r.stdout.strip().splitlines()[-1]) if r.stdout.strip() else {}


def hash_of(model, ckpt):
    r = run(TOOL, "hash", model, ckpt)
    return r, tool_json(r)


subprocess.run(["umount", os.path.join(TMP, "tmpfs")], capture_output=True)  # a killed earlier run
shutil.rmtree(TMP, ignore_errors=True)
os.makedirs(TMP, exist_ok=True)
models = {}
for spec in ("bert", "distilbert", "roberta"):
    d = os.path.join(TMP, "m_" + spec)
    models[spec] = (d, make_model(spec, d, 4))

# ---- 1. round trip, exact resume ------------------------------------------------------------
for spec, (d, _) in models.items():
    r = run(TOOL, "roundtrip", d, os.path.join(TMP, "rt_" + spec), 3, 3)
    out = tool_json(r)
    check(r.returncode == 0 and out.get("ok") is True and out.get("step") == 6 and out.get("micro") == 12,
          f"{spec} roundtrip: rc={r.returncode} {r.stdout.strip()} {r.stderr.strip()}")
    st = json.load(open(os.path.join(TMP, "rt_" + spec, "trainer_state.json")))
    check(st["format"] == "affect-checkpoint-1" and st["optimizer_step"] == 3 and st["num_labels"] == 4
          and st["family"] == spec and st["extra"]["data_position"] == 123,
          f"{spec} trainer_state.json: {st}")
    opt, ometa = read_safetensors(os.path.join(TMP, "rt_" + spec, "optimizer.safetensors"))
    params, _ = read_safetensors(os.path.join(TMP, "rt_" + spec, "model.safetensors"))
    check(all(k + ".exp_avg" in opt and k + ".exp_avg_sq" in opt for k in params)
          and opt["adam_steps"].tolist() == [3] * len(params),
          f"{spec} optimizer.safetensors lacks moments or step counts")

bert_dir = models["bert"][0]
ck = os.path.join(TMP, "ck")
r = run(TOOL, "train", bert_dir, ck, 2, '{"data_position": 4}')
check(r.returncode == 0, f"train+save: {r.stderr.strip()}")
saved = tool_json(r)
r, got = hash_of(bert_dir, ck)
check(r.returncode == 0 and got == saved, f"reload hash {got} != saved {saved}: {r.stderr.strip()}")

# ---- 2. refusals ----------------------------------------------------------------------------
other5 = os.path.join(TMP, "m_bert5")
make_model("bert", other5, 5)
r, out = hash_of(other5, ck)
check(r.returncode == 3 and out.get("error") == 3 and out.get("untouched") is True
      and "heads.emotion.2.weight" in r.stderr and "[4, 32]" in r.stderr and "[5, 32]" in r.stderr,
      f"5-label model loading a 4-label checkpoint: rc={r.returncode} {out} {r.stderr.strip()}")


def wider_ffn(cfg, sd):
    cfg["intermediate_size"] = 40
    for k in list(sd):
        if "intermediate.dense" in k:
            sd[k] = torch.randn(40, *sd[k].shape[1:]) if sd[k].dim() == 2 else torch.randn(40)
        if k.endswith("output.dense.weight") and "attention" not in k:
            sd[k] = torch.randn(sd[k].shape[0], 40)


ffn = os.path.join(TMP, "m_bert_ffn")
make_model("bert", ffn, 4, wider_ffn)
r, out = hash_of(ffn, ck)
check(r.returncode == 3 and "bert.encoder.layer.0.intermediate.dense.weight" in r.stderr
      and "[37, 32]" in r.stderr and "[40, 32]" in r.stderr and out.get("untouched") is True,
      f"wider FFN model: rc={r.returncode} {r.stderr.strip()}")
r, out = hash_of(models["distilbert"][0], ck)
check(r.returncode == 3 and "distilbert." in r.stderr and "another model" in r.stderr,
      f"distilbert trainer loading a bert checkpoint: rc={r.returncode} {r.stderr.strip()}")


def corrupted(name, edit):
    d = os.path.join(TMP, "bad_" + name)
    shutil.rmtree(d, ignore_errors=True)
    shutil.copytree(ck, d)
    edit(d)
    r, out = hash_of(bert_dir, d)
    return r, out


def truncate(fname, frac):
    def f(d):
        p = os.path.join(d, fname)
        size = os.path.getsize(p)
        with open(p, "r+b") as fh:
            fh.truncate(int(size * frac))
    return f


def overwrite(fname, text):
    def f(d):
        with open(os.path.join(d, fname), "w") as fh:
            fh.write(text)
    return f


cases = {
    "model_truncated": (truncate("model.safetensors", 0.5), "model.safetensors"),
    "model_header_only": (truncate("model.safetensors", 0.001), "model.safetensors"),
    "optimizer_truncated": (truncate("optimizer.safetensors", 0.9), "optimizer.safetensors"),
    "state_bad_json": (overwrite("trainer_state.json", '{"format": "affect-checkpoint-1", "optimizer_step": '),
                       "trainer_state.json"),
    "state_wrong_format": (overwrite("trainer_state.json", '{"format": "something-else"}'), "trainer_state.json"),
    "config_bad": (overwrite("config.json", "[1, 2"), "config.json"),
    "optimizer_missing": (lambda d: os.remove(os.path.join(d, "optimizer.safetensors")), "optimizer.safetensors"),
    "state_missing": (lambda d: os.remove(os.path.join(d, "trainer_state.json")), "trainer_state.json"),
}
for name, (edit, needle) in cases.items():
    r, out = corrupted(name, edit)
    check(r.returncode == 3 and out.get("error") == 3 and needle in r.stderr and out.get("untouched") is True,
          f"corrupt checkpoint {name}: rc={r.returncode} {out} {r.stderr.strip()}")
r, out = hash_of(bert_dir, os.path.join(TMP, "no_such_ckpt"))
check(r.returncode == 3 and "no such folder" in r.stderr, f"missing checkpoint: {r.stderr.strip()}")

# ---- 3. crash between renames; full disk ----------------------------------------------------
crash = os.path.join(TMP, "crash")
shutil.copytree(ck, crash + ".old")
r, got = hash_of(bert_dir, crash)
check(r.returncode == 0 and got == saved, f"<dir>.old fallback: {got} {r.stderr.strip()}")
# the next save over a crashed state publishes normally and removes the .old
r = run(TOOL, "train", bert_dir, crash, 3)
check(r.returncode == 0 and os.path.isdir(crash) and not os.path.exists(crash + ".old"),
      f"save after a crash: {r.stderr.strip()} {os.listdir(TMP)}")

ckpt_bytes = sum(os.path.getsize(os.path.join(ck, f)) for f in os.listdir(ck))
for cut in (0, 100, ckpt_bytes // 3, ckpt_bytes - 50):
    r = run(TOOL, "train", bert_dir, ck, 4, env={"AFFECT_FAULT_WRITE_AFTER_BYTES": str(cut)})
    check(r.returncode == 3 and "No space left on device" in r.stderr,
          f"injected ENOSPC after {cut} bytes: rc={r.returncode} {r.stderr.strip()}")
    r2, got = hash_of(bert_dir, ck)
    check(r2.returncode == 0 and got == saved,
          f"after a full disk at byte {cut} the previous checkpoint must load unchanged: {got} vs {saved} "
          f"{r2.stderr.strip()}")
    left = [f for f in os.listdir(TMP) if f.startswith("ck.")]
    check(not left, f"full disk at byte {cut} left {left}")

mnt = os.path.join(TMP, "tmpfs")
os.makedirs(mnt, exist_ok=True)
mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%d" % (ckpt_bytes * 3 // 2), "tmpfs", mnt],
                         capture_output=True).returncode == 0
if mounted:
    try:
        real = os.path.join(mnt, "ck")
        r = run(TOOL, "train", bert_dir, real, 2)
        first = tool_json(r)
        check(r.returncode == 0 and first == saved, f"tmpfs first save: {r.stderr.strip()}")
        r = run(TOOL, "train", bert_dir, real, 4)
        check(r.returncode == 3 and "No space left on device" in r.stderr,
              f"tmpfs second save should hit a real ENOSPC: rc={r.returncode} {r.stderr.strip()}")
        r2, got = hash_of(bert_dir, real)
        check(r2.returncode == 0 and got == saved, f"tmpfs: previous checkpoint after ENOSPC: {got} {r2.stderr}")
        check(sorted(os.listdir(mnt)) == ["ck"], f"tmpfs leftovers: {os.listdir(mnt)}")
    finally:
        subprocess.run(["umount", mnt])
else:
    print("note: cannot mount a tmpfs here; the full-disk case ran with injected ENOSPC only")

# ---- 4. export, a PyTorch user, embed and predict ------------------------------------------
TEXTS = ["I am so happy today, everything went well!", "worried about the exam tomorrow",
         "so angry at the delays, again and again and again", "thank you",
         "She laughed, and I laughed too; it was a good evening with old friends and a long walk home."]
NODE = r"""
const { createRequire } = require('module');
const req = createRequire(process.argv[1] + '/');
const { Tokenizer } = req('tokenizers');
const job = JSON.parse(require('fs').readFileSync(0, 'utf8'));
(async () => {
  const tk = Tokenizer.fromFile(job.path);
  tk.setTruncation(job.max_length);
  const rows = [];
  for (const t of job.texts) rows.push(Array.from((await tk.encode(t)).getIds()));
  process.stdout.write(JSON.stringify(rows));
})().catch((e) => { console.error(e); process.exit(1); });
"""
LABELS = ["anger", "joy", "fear", "sad\"ness"]
MAXLEN = 12
for spec, (d, _) in models.items():
    ckd = os.path.join(TMP, "rt_" + spec)
    exp = os.path.join(TMP, "export_" + spec)
    r = run(TOOL, "export", d, ckd, exp, d, MAXLEN, *LABELS)
    if not check(r.returncode == 0, f"{spec} export: {r.stderr.strip()}"):
        continue
    check(sorted(os.listdir(exp)) == sorted(["affect_heads.json", "config.json", "model.safetensors",
                                              "tokenizer.json"] + (["tokenizer_config.json"] if spec != "distilbert" else [])),
          f"{spec} export files: {os.listdir(exp)}")
    heads = json.load(open(os.path.join(exp, "affect_heads.json")))
    check(heads == {"format": "affect-heads-1", "label_names": LABELS, "pool": "mean",
                    "intensity": {"enabled": True, "target_min": 0, "target_max": 1, "median": 0.375},
                    "max_length": MAXLEN}, f"{spec} affect_heads.json: {heads}")
    cfg = json.load(open(os.path.join(exp, "config.json")))
    sd, meta = read_safetensors(os.path.join(exp, "model.safetensors"))
    ck_sd, _ = read_safetensors(os.path.join(ckd, "model.safetensors"))
    check(meta == {"format": "pt"}, f"{spec} metadata {meta}")
    prefix = {"bert": "bert.", "distilbert": "distilbert.", "roberta": "roberta."}[spec]
    enc_keys = [k for k in sd if not k.startswith("heads.")]
    check(all(k.startswith(prefix) for k in enc_keys) and len([k for k in sd if k.startswith("heads.")]) == 8,
          f"{spec} exported key names: {sorted(sd)[:5]}")
    check(sd.keys() == ck_sd.keys() and all(torch.equal(sd[k], ck_sd[k]) for k in sd),
          f"{spec}: exported weights differ from the checkpoint's")
    # the weights really are trained ones, not the fixture's
    orig, _ = read_safetensors(os.path.join(d, "model.safetensors"))
    k = prefix + "embeddings.LayerNorm.weight"
    check(k in orig and not torch.equal(orig[k], sd[k]),
          f"{spec}: exported encoder equals the untrained fixture")

    nr = subprocess.run(["node", "-e", NODE, os.path.join(SRC, "tests", "oracles", "node_modules")],
                        input=json.dumps({"path": os.path.join(exp, "tokenizer.json"), "texts": TEXTS,
                                          "max_length": MAXLEN}), capture_output=True, text=True)
    if not check(nr.returncode == 0, f"node tokenizer: {nr.stderr[-500:]}"):
        continue
    rows = json.loads(nr.stdout)
    pad = cfg.get("pad_token_id", 0)
    T = max(len(x) for x in rows)
    ids = [x + [pad] * (T - len(x)) for x in rows]
    mask = [[1] * len(x) + [0] * (T - len(x)) for x in rows]
    with torch.no_grad():
        hidden = encode(cfg, sd, ids, mask)
        pooled = pool(hidden, mask, "mean")
        logits, inten, _ = heads_forward(sd, pooled)
        probs = torch.sigmoid(logits)

    r = run(BIN, "embed", exp, "--threads", "1", "--max-length", MAXLEN, inp="\n".join(TEXTS) + "\n")
    if check(r.returncode == 0, f"{spec} affect embed: {r.stderr.strip()}"):
        ours = np.array([json.loads(l)["pooled"] for l in r.stdout.splitlines()])
        err = float(np.abs(ours - pooled.numpy()).max())
        check(err <= 1e-4, f"{spec}: affect embed vs PyTorch on the exported weights: max |diff| {err:.3g}")
        print(f"{spec}: embed vs torch_ref max |diff| {err:.3g}")

    r = run(BIN, "predict", exp, "--threads", "1", inp="\n".join(TEXTS) + "\n")
    if check(r.returncode == 0, f"{spec} affect predict: {r.stderr.strip()}"):
        lines = [json.loads(l) for l in r.stdout.splitlines()]
        check(len(lines) == len(TEXTS) and all(list(x["emotions"]) == LABELS for x in lines),
              f"{spec} predict output shape/label order: {r.stdout[:300]}")
        P = np.array([[x["emotions"][k] for k in LABELS] for x in lines])
        I = np.array([x["intensity"] for x in lines])
        perr = float(np.abs(P - probs.numpy()).max())
        ierr = float(np.abs(I - inten.numpy()).max())
        check(perr <= 1e-5, f"{spec}: predict probabilities vs EmotionModel reference: {perr:.3g}")
        check(ierr <= 1e-5, f"{spec}: predict intensity vs EmotionModel reference: {ierr:.3g}")
        check(float(np.ptp(P, axis=0).max()) > 1e-3, f"{spec}: probabilities do not depend on the text")
        print(f"{spec}: predict vs emotion_ref max |diff| probs {perr:.3g}, intensity {ierr:.3g}")

# a tokenizer folder with only legacy files (TinyBERT ships vocab.txt alone, the same
# bert-base-uncased vocabulary): those files are exported, and predictions are unchanged
tiny_tok = os.path.join(TMP, "tok_tinybert")
make("tinybert", "safetensors", tiny_tok)
legacy = os.path.join(TMP, "export_legacy")
r = run(TOOL, "export", models["bert"][0], os.path.join(TMP, "rt_bert"), legacy, tiny_tok, MAXLEN, *LABELS)
check(r.returncode == 0 and sorted(os.listdir(legacy)) == ["affect_heads.json", "config.json",
                                                            "model.safetensors", "vocab.txt"],
      f"legacy tokenizer export: {r.stderr.strip()} {os.listdir(legacy) if os.path.isdir(legacy) else ''}")
a = run(BIN, "predict", legacy, "--threads", "1", inp="\n".join(TEXTS) + "\n")
b = run(BIN, "predict", os.path.join(TMP, "export_bert"), "--threads", "1", inp="\n".join(TEXTS) + "\n")
check(a.returncode == 0 and a.stdout == b.stdout and a.stdout, f"legacy-tokenizer export predicts differently: {a.stderr}")
r = run(TOOL, "export", models["bert"][0], os.path.join(TMP, "rt_bert"), os.path.join(TMP, "nothing"),
        os.path.join(TMP, "no_tokenizer_here"), MAXLEN, *LABELS)
check(r.returncode != 0 and "tokenizer" in r.stderr and not [f for f in os.listdir(TMP) if f.startswith("nothing")],
      f"export without a tokenizer must fail and write nothing: {r.stderr.strip()}")

# a bare encoder: the existing message, exit 2
r = run(BIN, "predict", models["bert"][0], "hello")
check(r.returncode == 2 and "bare encoder" in r.stderr, f"predict on a bare encoder: rc={r.returncode} {r.stderr}")
# a heads file that does not match the weights: a clear error naming the tensor
bad = os.path.join(TMP, "export_bad")
shutil.rmtree(bad, ignore_errors=True)
shutil.copytree(os.path.join(TMP, "export_bert"), bad)
h = json.load(open(os.path.join(bad, "affect_heads.json")))
h["label_names"] = h["label_names"] + ["extra"]
json.dump(h, open(os.path.join(bad, "affect_heads.json"), "w"))
r = run(BIN, "predict", bad, "hello")
check(r.returncode != 0 and "heads.emotion.2.weight" in r.stderr and "[4, 32]" in r.stderr,
      f"predict with 5 label names for 4-label weights: rc={r.returncode} {r.stderr.strip()}")

if failures:
    print(f"{len(failures)} check(s) failed")
    sys.exit(1)
print("test_checkpoint: all checks passed")
