"""Tokenizer oracle test: affect's C tokenizers must give bit-identical ids to Hugging Face's.

Corpus: every GoEmotions train text, every Lemotif `Answer`, and an adversarial set generated
in tests/oracles/adversarial.py (emoji, ZWJ, combining marks, CJK, Arabic, control chars,
invalid UTF-8, 10k-char words, typed special tokens, empty string), plus a sweep of every code
point of planes 0-3 and 14, each in its own word, which pins the Unicode tables.

Oracles (tests/oracles/tok_oracle.mjs):
  * Hugging Face's Rust `tokenizers` (npm `tokenizers`) — THE authority. The C library must
    equal it on every text, for every model folder, zero mismatches allowed, both untruncated
    and truncated (max_length 128 and 5).
  * transformers.js (@huggingface/transformers), loading the same tokenizer.json offline. It
    must equal the Rust library except for the named deviations in TJS_DEVIATIONS below; each
    is a documented place where transformers.js departs from the Rust source, and each must
    actually occur (a stale exclusion fails the test).

Model folders run through the C side (tests/tools/tok_dump.c over include/affect.h):
  bert-base-uncased, distilbert-base-uncased (tokenizer.json), roberta-base (tokenizer.json);
  the legacy loaders: vocab.txt + config.json (bert), TinyBERT_General_4L_312D (vocab.txt only,
  model_type bert), vocab.json + merges.txt with roberta-base's and MiniLMv2's config.json.
Texts cross the process boundary as bytes ([u32 LE length][bytes] records); the node side
decodes them with the WHATWG UTF-8 decoder (U+FFFD per maximal subpart), the contract the C
library documents.

Env: AFFECT_SHARED, AFFECT_SRC, AFFECT_TOOLS (dir holding tok_dump), AFFECT_TEST_TMP.
"""

import csv
import json
import os
import shutil
import struct
import subprocess
import sys
import time

SRC = os.environ.get("AFFECT_SRC") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("AFFECT_SHARED") or os.path.join(SRC, "..", "shared")
TOOLS = os.environ.get("AFFECT_TOOLS", "")
TMP = os.path.join(os.environ.get("AFFECT_TEST_TMP") or "/tmp", "tokenizer_oracle")
MODELS = os.path.join(SHARED, "models")
ORACLES = os.path.join(SRC, "tests", "oracles")
TRUNCATE = [128, 5]

sys.dont_write_bytecode = True  # keep tests/oracles free of __pycache__
sys.path.insert(0, ORACLES)
from adversarial import adversarial_texts, codepoint_sweep_texts  # noqa: E402

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


# ---------------------------------------------------------------------------- corpus


def goemotions_texts():
    """Field 1 of every line of GoEmotions train.tsv, as the raw bytes of the file."""
    with open(os.path.join(SHARED, "data", "goemotions", "train.tsv"), "rb") as f:
        data = f.read()
    out = []
    for line in data.split(b"\n"):
        if line.endswith(b"\r"):
            line = line[:-1]
        if line:
            out.append(line.split(b"\t", 1)[0])
    return out


def lemotif_texts():
    """The `Answer` column of lemotif.csv (RFC 4180: quoted fields may hold newlines)."""
    with open(os.path.join(SHARED, "data", "lemotif", "lemotif.csv"), encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    col = rows[0].index("Answer")
    return [r[col].encode("utf-8") for r in rows[1:] if r]


def write_texts(path, texts):
    with open(path, "wb") as f:
        for t in texts:
            f.write(struct.pack("<I", len(t)))
            f.write(t)


def read_ids(path, n):
    with open(path) as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) != n:
        raise RuntimeError(f"{path}: {len(lines)} lines for {n} texts")
    return [tuple(int(x) for x in ln.split()) for ln in lines]


# ----------------------------------------------- where transformers.js departs from Rust
#
# Each entry: (name, family, reason, predicate(text: str, section: str) -> bool), section
# being "corpus", "adversarial" or "sweep". A text matching a predicate is left out of the
# transformers.js comparison for that family (counts printed; each class must really occur);
# the Rust library stays the authority for it and the C library must still match Rust there.

TJS_DEVIATIONS = [
    ("final-sigma", "wordpiece",
     "transformers.js BertNormalizer lowercases with String.prototype.toLowerCase, which applies "
     "Unicode's Final_Sigma context (word-final capital sigma U+03A3 becomes final sigma U+03C2); "
     "Rust's NormalizedString::lowercase maps char by char with char::to_lowercase (always U+03C3)",
     lambda t, sec: "\u03a3" in t),
    ("astral-cjk", "wordpiece",
     "transformers.js BertNormalizer.tokenize_chinese_chars walks UTF-16 code units "
     "(text[i].charCodeAt(0)), so CJK ideographs outside the BMP (Ext B-F, Compatibility "
     "Supplement, U+20000-U+2FA1F) never get spaces around them; Rust's do_handle_chinese_chars "
     "walks chars and splits them",
     lambda t, sec: any(0x20000 <= ord(c) <= 0x2FA1F for c in t)),
    ("unicode-tables", "wordpiece",
     "in the code-point sweep: transformers.js classes characters with the JavaScript engine's "
     "current Unicode tables (/\\p{Cc}|\\p{Cf}/u, /\\p{P}/u, /\\p{Mn}/u, String.normalize); Rust's "
     "BertNormalizer/BertPreTokenizer take is_other / is_punctuation / is_mark_nonspacing from the "
     "unicode_categories crate, frozen at an old Unicode version, so characters assigned or "
     "recategorised since (e.g. U+0890 Cf, U+2E52 Po, U+0D00 Mn) are kept as letters by Rust",
     lambda t, sec: sec == "sweep"),
]


# ---------------------------------------------------------------------------- comparison


def first_diff(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def load_vocab(tokenizer_json):
    """id -> token string, from a tokenizer.json (model vocab + added tokens), for messages."""
    with open(tokenizer_json, encoding="utf-8") as f:
        j = json.load(f)
    inv = {i: t for t, i in j["model"]["vocab"].items()}
    for a in j.get("added_tokens", []):
        inv[a["id"]] = a["content"]
    return inv


def compare(label, texts, expected, got, vocab=None, section=None, show=10):
    """Counts mismatches and prints the first `show` with both id lists. Returns the count."""
    bad = [i for i in range(len(texts)) if expected[i] != got[i]]
    by_sec = ""
    if bad and section:
        counts = {}
        for i in bad:
            counts[section[i]] = counts.get(section[i], 0) + 1
        by_sec = " (" + ", ".join(f"{k} {v}" for k, v in counts.items()) + ")"
    print(f"  {label}: {len(texts)} texts, {len(bad)} mismatches{by_sec}")

    def window(ids, k):
        w = list(ids[max(0, k - 3):k + 8])
        if vocab:
            return f"{w} {[vocab.get(x, '?') for x in w]}"
        return str(w)

    for i in bad[:show]:
        e, g = expected[i], got[i]
        k = first_diff(e, g)
        sec = f" [{section[i]}]" if section else ""
        print(f"    text #{i}{sec} {texts[i][:160]!r}{' ...' if len(texts[i]) > 160 else ''}")
        print(f"      first difference at position {k}")
        print(f"      expected[{max(0, k - 3)}:{k + 8}] = {window(e, k)} (len {len(e)})")
        print(f"      got     [{max(0, k - 3)}:{k + 8}] = {window(g, k)} (len {len(g)})")
    return len(bad)


def make_dir(name, files, config_from):
    """A temp model folder holding only `files` (symlinked from shared) and a config.json."""
    d = os.path.join(TMP, "dirs", name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for src in files:
        os.symlink(src, os.path.join(d, os.path.basename(src)))
    if config_from:
        os.symlink(config_from, os.path.join(d, "config.json"))
    return d


def model_type(d):
    p = os.path.join(d, "config.json")
    if not os.path.exists(p):
        return None
    with open(p) as f:
        return json.load(f).get("model_type")


def main():
    t_start = time.time()
    shutil.rmtree(TMP, ignore_errors=True)
    os.makedirs(TMP)

    texts_b = goemotions_texts() + lemotif_texts()
    n_real = len(texts_b)
    adv = adversarial_texts()
    texts_b += adv
    sweep = codepoint_sweep_texts()
    texts_b += sweep
    section = ["corpus"] * n_real + ["adversarial"] * len(adv) + ["sweep"] * len(sweep)
    texts = [b.decode("utf-8", errors="replace") for b in texts_b]  # only for display/predicates
    print(f"corpus: {n_real} GoEmotions train + Lemotif texts, {len(adv)} adversarial, "
          f"{len(sweep)} code-point sweep texts")
    if n_real < 43000:
        fail(f"corpus too small: {n_real} texts")
    texts_bin = os.path.join(TMP, "texts.bin")
    write_texts(texts_bin, texts_b)

    # ---- oracles
    bert = os.path.join(MODELS, "bert-base-uncased")
    distil = os.path.join(MODELS, "distilbert-base-uncased")
    roberta = os.path.join(MODELS, "roberta-base")
    tjs_root = os.path.join(TMP, "tjs")
    for name, d, cfg in [("bert", bert, os.path.join(bert, "tokenizer_config.json")),
                         ("distilbert", distil, os.path.join(bert, "tokenizer_config.json")),
                         ("roberta", roberta, os.path.join(roberta, "tokenizer_config.json"))]:
        # transformers.js wants tokenizer.json + tokenizer_config.json side by side;
        # distilbert's folder has no tokenizer_config.json (its tokenizer.json is bert's bytes).
        os.makedirs(os.path.join(tjs_root, name))
        os.symlink(os.path.join(d, "tokenizer.json"), os.path.join(tjs_root, name, "tokenizer.json"))
        os.symlink(cfg, os.path.join(tjs_root, name, "tokenizer_config.json"))
    job = {
        "texts": texts_bin,
        "out": os.path.join(TMP, "oracle"),
        "models": [
            {"name": n, "tokenizer_json": os.path.join(d, "tokenizer.json"), "tjs_root": tjs_root,
             "tjs_id": n, "truncate": TRUNCATE}
            for n, d in [("bert", bert), ("distilbert", distil), ("roberta", roberta)]
        ],
    }
    job_path = os.path.join(TMP, "job.json")
    with open(job_path, "w") as f:
        json.dump(job, f)
    t0 = time.time()
    r = subprocess.run(["node", os.path.join(ORACLES, "tok_oracle.mjs"), job_path],
                       capture_output=True, text=True, cwd=ORACLES)
    if r.returncode != 0:
        print(r.stdout + r.stderr)
        fail("node oracle failed")
        return
    print(f"oracle: {r.stdout.strip()} ({time.time() - t0:.1f} s)")
    out = job["out"]

    def oracle(name, kind):
        return read_ids(os.path.join(out, f"{name}.{kind}.txt"), len(texts))

    rust = {n: oracle(n, "rust") for n in ("bert", "distilbert", "roberta")}
    rust_t = {(n, k): oracle(n, f"rust.t{k}") for n in ("bert", "distilbert", "roberta") for k in TRUNCATE}

    # sanity: the oracle really is the tokenizer we think it is
    if rust["bert"][texts_b.index(b"[CLS] hi [SEP]")] != (101, 101, 7632, 102, 102):
        fail(f"bert oracle sanity: {rust['bert'][texts_b.index(b'[CLS] hi [SEP]')]}")
    if rust["roberta"][texts_b.index(b"")] != (0, 2):
        fail(f"roberta oracle sanity: {rust['roberta'][texts_b.index(b'')]}")

    vocabs = {n: load_vocab(os.path.join(d, "tokenizer.json"))
              for n, d in [("bert", bert), ("distilbert", distil), ("roberta", roberta)]}

    # ---- transformers.js vs Rust
    print("transformers.js vs Rust tokenizers:")
    family = {"bert": "wordpiece", "distilbert": "wordpiece", "roberta": "bpe"}
    for n in ("bert", "distilbert", "roberta"):
        tjs = oracle(n, "tjs")
        keep = list(range(len(texts)))
        excluded = {}
        for name, fam, _reason, pred in TJS_DEVIATIONS:
            if fam != family[n]:
                continue
            hit = [i for i in keep if pred(texts[i], section[i])]
            mism = sum(1 for i in hit if tjs[i] != rust[n][i])
            excluded[name] = (len(hit), mism)
            keep = [i for i in keep if not pred(texts[i], section[i])]
            if mism == 0:
                fail(f"{n}: deviation '{name}' excludes {len(hit)} texts but none differs (stale?)")
        for name, (h, m) in excluded.items():
            print(f"  {n}: named deviation '{name}': {h} texts excluded, {m} of them differ")
        bad = compare(f"{n} (tjs vs rust)", [texts[i] for i in keep],
                      [rust[n][i] for i in keep], [tjs[i] for i in keep], vocabs[n],
                      [section[i] for i in keep])
        if bad:
            fail(f"{n}: transformers.js differs from Rust on {bad} texts outside the named deviations")

    # ---- the C library vs Rust (the point of this test)
    tok_dump = os.path.join(TOOLS, "tok_dump")
    if not os.access(tok_dump, os.X_OK):
        fail(f"{tok_dump} not built (AFFECT_TOOLS={TOOLS!r})")
        return
    legacy = [
        ("bert-legacy", "bert", make_dir("bert-legacy", [os.path.join(bert, "vocab.txt")],
                                         os.path.join(bert, "config.json"))),
        ("tinybert", "bert", os.path.join(MODELS, "TinyBERT_General_4L_312D")),
        ("roberta-legacy", "roberta", make_dir("roberta-legacy",
                                               [os.path.join(roberta, "vocab.json"), os.path.join(roberta, "merges.txt")],
                                               os.path.join(roberta, "config.json"))),
        ("minilmv2-legacy", "roberta", make_dir("minilmv2-legacy",
                                                [os.path.join(roberta, "vocab.json"), os.path.join(roberta, "merges.txt")],
                                                os.path.join(MODELS, "MiniLMv2-L12-H384-distilled-from-RoBERTa-Large", "config.json"))),
    ]
    runs = [("bert", "bert", bert), ("distilbert", "distilbert", distil), ("roberta", "roberta", roberta)] + legacy
    print("C (tok_dump over include/affect.h) vs Rust tokenizers:")
    for label, ref, d in runs:
        for k in [0] + TRUNCATE:
            outp = os.path.join(TMP, f"c.{label}.{k}.txt")
            t0 = time.time()
            r = subprocess.run([tok_dump, d, texts_bin, outp, str(k)], capture_output=True, text=True)
            if r.returncode != 0:
                fail(f"tok_dump {label} max_length={k}: exit {r.returncode}: {(r.stdout + r.stderr).strip()[:500]}")
                continue
            got = read_ids(outp, len(texts))
            exp = rust[ref] if k == 0 else rust_t[(ref, k)]
            bad = compare(f"{label} [{os.path.basename(d)}, model_type {model_type(d)}] max_length={k or 'none'} "
                          f"({time.time() - t0:.1f} s)", texts, exp, got, vocabs[ref], section)
            if bad:
                fail(f"C {label} max_length={k}: {bad} texts differ from Rust tokenizers")

    print(f"total {time.time() - t_start:.1f} s")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # a crash is a failure with its reason, not a traceback-only exit
        import traceback
        traceback.print_exc()
        fail(f"exception: {e}")
    if failures:
        print(f"\n{len(failures)} failure(s):")
        for m in failures:
            print("  - " + m)
        sys.exit(1)
    print("OK")
