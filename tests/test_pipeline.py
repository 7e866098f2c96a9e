#!/usr/bin/env python3
"""`affect train` end to end on configs/tiny.yaml (a tiny scratch encoder, a few hundred rows of
each corpus, one epoch per stage), then every file of the run folder against the run-folder
contract (notes/runfolder.md), with independent checks:

  - analysis_metrics.json's AUCs recomputed by scikit-learn from predictions.csv + labels.csv;
  - per_label_auc is null exactly where labels.csv has one class in that column;
  - n_params / model_bytes against final_model/model.safetensors parsed here;
  - `affect predict final_model TEXT` (the inference path) agrees with predictions.csv (the
    trainer's forward);
  - the research team's three configs fail with the hub id and `affect pull <id>` when the
    weights are absent; bad config keys/types and bad data rows fail with file:line.
"""
import csv
import json
import math
import os
import re
import shutil
import struct
import subprocess
import sys
import time

import numpy as np

BIN = os.environ.get("AFFECT_BIN", "build/affect")
SRC = os.environ.get("AFFECT_SRC", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("AFFECT_SHARED", os.path.join(SRC, "..", "shared"))
TMP = os.path.join(os.environ.get("AFFECT_TEST_TMP", "/tmp"), "test_pipeline")
DATA = os.path.join(SHARED, "data")

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg)


def check(cond, msg):
    if not cond:
        fail(msg)
    return cond


def env(**extra):
    e = dict(os.environ)
    e["AFFECT_DATA"] = DATA
    e["HF_HUB_CACHE"] = os.path.join(TMP, "empty-hf-cache")  # no pretrained weights anywhere
    e.pop("HF_HOME", None)
    e.update(extra)
    return e


def run(args, timeout=90, **extra):
    t0 = time.time()
    p = subprocess.run([BIN] + args, cwd=TMP, env=env(**extra), capture_output=True, text=True, timeout=timeout)
    return p, time.time() - t0


def tiny_config(name, **replace):
    text = open(os.path.join(SRC, "configs", "tiny.yaml")).read()
    text = text.replace("artifacts/experiments/tiny", os.path.join(TMP, name))
    for k, v in replace.items():
        text = text.replace(k, v)
    path = os.path.join(TMP, name + ".yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


def read_tensors(path):
    """name -> float32 array of a safetensors file (F32 only, as affect writes it)."""
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        s, e = v["data_offsets"]
        out[k] = np.frombuffer(data[8 + n + s:8 + n + e], "<f4").reshape(v["shape"])
    return out


def safetensors_numel(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    total = 0
    for k, v in header.items():
        if k == "__metadata__":
            continue
        total += math.prod(v["shape"])
    return total, header


LEXICAL = ("  lemotif:\n    lexical:\n      weight: 0.5\n      c: 4.0\n      goemotions: 0.1\n      chars: 1.0\n"
           "      chars_buckets: 4096\n      bigrams: 1.0\n      bigram_buckets: 1024\n      weight_select: true\n"
           "      intensity_weight: 0.5\n"
           "      intensity_alpha: 1.0\n      intensity_goemotions: 0.1\n      intensity_chars: 1.0\n"
           "      intensity_weight_select: true\n      match_prior: true\n")


def check_predict_matches(rd, texts, rows, intensity, what=""):
    """`affect predict` on the run's exported model gives the run's own predictions.csv (the
    first `rows` test entries; emotions, and the intensity when asked) to 1e-4."""
    with open(os.path.join(rd, "predictions.csv")) as f:
        pr = list(csv.reader(f))
    names = pr[0][1:-1]
    for r in pr[1:1 + rows]:
        q = subprocess.run([BIN, "predict", os.path.join(rd, "final_model"), texts[r[0]]], capture_output=True,
                           text=True, env=env(), cwd=TMP)
        if not check(q.returncode == 0, f"affect predict: {q.stderr}"):
            break
        out = json.loads(q.stdout.splitlines()[0])
        for j, name in enumerate(names):
            a, b = out["emotions"][name], float(r[1 + j])
            check(abs(a - b) < 1e-4, f"{what}{r[0]} {name}: predict {a} vs predictions.csv {b}")
        if intensity:
            check(abs(out["intensity"] - float(r[-1])) < 1e-4,
                  f"{what}{r[0]} intensity: predict {out['intensity']} vs predictions.csv {r[-1]}")


def check_lexical_run(rd, stderr, texts):
    """A run with a lexical model: its metadata, tensors and metrics, and the exported model
    reproducing the run's own test predictions (the lexical part included)."""
    heads = json.load(open(os.path.join(rd, "final_model", "affect_heads.json")))
    lex = heads.get("lexical", {})
    V = lex.get("vocab_size")
    groups = lex.get("intensity", [])
    check(lex.get("features") == "tfidf-sublinear-l2+emotion-parts" and isinstance(V, int) and V > 100,
          f"affect_heads.json lexical {lex}")
    check(len(groups) == 5 and groups[0] == {"name": "", "prefix": []} and
          [g["name"] for g in groups[1:]] == ["anger", "fear", "joy", "sadness"] and all(g["prefix"] for g in groups[1:]),
          f"lexical intensity models {groups}")
    _, header = safetensors_numel(os.path.join(rd, "final_model", "model.safetensors"))
    want = {"lexical.idf": [V], "lexical.emotion.weight": [18, V], "lexical.emotion.bias": [18],
            "lexical.emotion.mix": [18], "lexical.intensity.idf": [V], "lexical.intensity.weight": [5, V],
            "lexical.intensity.bias": [5], "lexical.intensity.mix": [5],
            # the GoEmotions outputs the intensity ridges read (lexical.intensity_goemotions)
            "lexical.aux.idf": [V], "lexical.aux.weight": [28, V], "lexical.aux.bias": [28], "lexical.aux.mean": [28],
            "lexical.aux.scale": [28], "lexical.intensity.aux_weight": [5, 28],
            # the character n-grams (lexical.intensity_chars)
            "lexical.intensity.char_idf": [65536], "lexical.intensity.char_weight": [5, 65536],
            # the emotion regressions' GoEmotions logits and n-grams (lexical.goemotions, chars)
            "lexical.emotion.aux_weight": [18, 28], "lexical.emotion.char_idf": [4096],
            "lexical.emotion.char_weight": [18, 4096],
            # and their token bigrams (lexical.bigrams)
            "lexical.emotion.bigram_idf": [1024], "lexical.emotion.bigram_weight": [18, 1024]}
    for k, shape in want.items():
        check(header.get(k, {}).get("shape") == shape, f"{k}: {header.get(k)} (want shape {shape})")
    check(re.search(r"lexical model: \d+ of 18 labels .*5 intensity models", stderr) is not None,
          "no 'lexical model' note")
    check(lex.get("aux") == {"name": "goemotions", "outputs": 28}, f"affect_heads.json lexical.aux {lex.get('aux')}")
    check(lex.get("intensity_chars") == {"analyzer": "char_wb", "ngram_range": [2, 5], "buckets": 65536,
                                         "hash": "murmurhash3_32"}, f"lexical.intensity_chars {lex.get('intensity_chars')}")
    check(re.search(r"5 intensity models \(weight 0\.50, \d+ character n-gram buckets\)", stderr) is not None,
          "no note of the character n-grams")
    check(lex.get("emotion_aux") is True and lex.get("emotion_chars") == {
        "analyzer": "char_wb", "ngram_range": [2, 5], "buckets": 4096, "hash": "murmurhash3_32"},
        f"lexical.emotion_aux {lex.get('emotion_aux')}, lexical.emotion_chars {lex.get('emotion_chars')}")
    check(lex.get("emotion_bigrams") == {"of": "token_ids", "buckets": 1024, "hash": "murmurhash3_32"},
          f"lexical.emotion_bigrams {lex.get('emotion_bigrams')}")
    # the emotion mix chosen on the validation entries (lexical.weight_select), before match_prior
    wchosen = re.search(r"lexical weight ([\d.]+) chosen on (\d+) validation entries", stderr)
    wj = json.load(open(os.path.join(rd, "analysis_metrics.json"))).get("lexical", {}).get("weight_chosen")
    emix = read_tensors(os.path.join(rd, "final_model", "model.safetensors")).get("lexical.emotion.mix")
    if check(wchosen is not None and isinstance(wj, (int, float)) and emix is not None, f"no chosen lexical weight ({wj})"):
        check(abs(float(wchosen.group(1)) - wj) < 0.005 and round(wj * 20) == wj * 20 and
              np.allclose(emix[emix > 0], wj) and stderr.index(wchosen.group(0)) < stderr.index("label biases matched"),
              f"chosen weight {wj}, note {wchosen.group(0)}, exported mix {emix}")
    check(re.search(r"18 labels \(weight 0\.50, \d+ token ids, [1-9]\d* character n-gram buckets, [1-9]\d* bigram buckets, "
                    r"GoEmotions logits\)",
                    stderr) is not None, "no note of the emotion regressions' n-grams and GoEmotions logits")
    # the intensity mix chosen on the held-out EmoInt rows (lexical.intensity_weight_select)
    chosen = re.search(r"intensity weight ([\d.]+) chosen on (\d+) held-out EmoInt train rows", stderr)
    w = json.load(open(os.path.join(rd, "analysis_metrics.json"))).get("lexical", {}).get("intensity_weight_chosen")
    imix = read_tensors(os.path.join(rd, "final_model", "model.safetensors")).get("lexical.intensity.mix")
    if check(chosen is not None and isinstance(w, (int, float)) and imix is not None, f"no chosen intensity weight ({w})"):
        check(abs(float(chosen.group(1)) - w) < 0.005 and 0 <= w <= 1 and round(w * 20) == w * 20 and
              np.allclose(imix, w), f"chosen weight {w}, note {chosen.group(0)}, exported mix {imix}")
    check(re.search(r"lexical model: 28 GoEmotions outputs for the emotion regressions and intensity ridges, fitted on "
                    r"\d+ rows", stderr)
          is not None, "no note of the GoEmotions outputs")
    check(re.search(r"label biases matched to the training prevalences on \d+ validation rows", stderr) is not None,
          "no match_prior note")
    m = json.load(open(os.path.join(rd, "analysis_metrics.json")))
    lx = m.get("lexical", {})
    ok = all(isinstance(lx.get(part, {}).get(k), float) for part in ("encoder_alone", "lexical_alone")
             for k in ("macro_auc", "micro_auc", "intensity_pearson"))
    check(ok and lx.get("weight") == 0.5 and lx.get("intensity_weight") == 0.5, f"analysis_metrics.json lexical {lx}")
    if ok:
        check(lx["encoder_alone"]["macro_auc"] != m["macro_auc"] and
              lx["encoder_alone"]["intensity_pearson"] != m["intensity"]["mean"],
              "the lexical model changed neither the emotions nor the intensity")
    check_predict_matches(rd, texts, rows=4, intensity=True, what="lexical run, ")


def main():
    shutil.rmtree(TMP, ignore_errors=True)
    os.makedirs(os.path.join(TMP, "empty-hf-cache"))

    # ---- the run --------------------------------------------------------------------------
    cfg = tiny_config("run")
    p, secs = run(["train", cfg])
    if not check(p.returncode == 0, f"affect train tiny: exit {p.returncode}\n{p.stderr[-2000:]}"):
        return
    check(secs < 90, f"tiny run took {secs:.1f} s")
    print(f"tiny run: {secs:.2f} s")
    rd = os.path.join(TMP, "run")
    check("macro AUC" in p.stdout and "run folder" in p.stdout, f"summary missing from stdout: {p.stdout!r}")
    # not a terminal: plain progress lines
    check(re.search(r"goemotions epoch 1/1 step \d+/\d+ loss [\d.]+", p.stderr) is not None,
          "no plain progress lines on stderr")
    check("\r" not in p.stderr, "carriage returns in non-terminal progress")

    # every file of the contract
    need = ["config.yaml", "train_log.jsonl", "predictions.csv", "labels.csv", "analysis_metrics.json",
            "final_model/config.json", "final_model/model.safetensors", "final_model/tokenizer.json",
            "final_model/affect_heads.json"]
    for stage in ["goemotions", "lemotif.frozen", "lemotif.unfrozen"]:
        for sub in ["best", "last"]:
            for f in ["model.safetensors", "optimizer.safetensors", "config.json", "trainer_state.json"]:
                need.append(f"{stage}/{sub}/{f}")
    for f in need:
        check(os.path.isfile(os.path.join(rd, f)), f"run folder lacks {f}")
    leftovers = [f for f in os.listdir(rd) if ".tmp" in f or f.endswith(".old")]
    check(not leftovers, f"temporary files left in the run folder: {leftovers}")

    # config.yaml: resolved (every key), re-readable by `affect data config`
    cy = open(os.path.join(rd, "config.yaml")).read()
    for key in ["max_rows: 240", "checkpoint_every: 4", "pos_weight_cap:", "lr_scheduler_type: cosine", "threads: 1"]:
        check(key in cy, f"config.yaml lacks '{key}'")
    q = subprocess.run([BIN, "data", "config", os.path.join(rd, "config.yaml"), "--no-model"], env=env(),
                       capture_output=True, text=True, cwd=TMP)
    check(q.returncode == 0, f"config.yaml does not re-read: {q.stderr}")

    # train_log.jsonl: one JSON object per line; steps and evaluations of every stage
    lines = [json.loads(l) for l in open(os.path.join(rd, "train_log.jsonl"))]
    for stage in ["goemotions", "lemotif.frozen", "lemotif.unfrozen"]:
        tr = [l for l in lines if l["type"] == "train" and l["stage"] == stage]
        ev = [l for l in lines if l["type"] == "eval" and l["stage"] == stage]
        check(len(tr) >= 2, f"{stage}: {len(tr)} train lines")
        check(len(ev) == 1, f"{stage}: {len(ev)} eval lines (1 epoch)")
        for l in tr:
            for k in ["epoch", "step", "total_steps", "loss", "bce", "l1", "ms", "lr", "seq_per_s"]:
                check(isinstance(l.get(k), (int, float)), f"{stage} train line lacks number {k}: {l}")
            check(math.isfinite(l["loss"]) and l["loss"] > 0, f"bad loss {l}")
        check(tr[-1]["step"] == tr[-1]["total_steps"], f"{stage}: last logged step {tr[-1]['step']} != total")
        if stage != "goemotions":
            check(any(l["l1"] > 0 for l in tr), f"{stage}: no intensity loss logged (EmoInt rows not mixed in?)")
            check(any(l["ms"] > 0 for l in tr), f"{stage}: no multi-similarity loss logged")
            check(ev[0]["val_pearson"] is not None, f"{stage}: no EmoInt dev Pearson in the evaluation")
        else:
            check(all(l["l1"] == 0 and l["ms"] == 0 for l in tr), "goemotions: only BCE expected")
    # warm-up then decay: the goemotions lr rises first
    g = [l for l in lines if l["type"] == "train" and l["stage"] == "goemotions"]
    check(g[0]["lr"] < max(x["lr"] for x in g), "goemotions lr shows no warm-up")

    # predictions.csv / labels.csv
    with open(os.path.join(rd, "predictions.csv")) as f:
        pr = list(csv.reader(f))
    with open(os.path.join(rd, "labels.csv")) as f:
        la = list(csv.reader(f))
    m = json.load(open(os.path.join(rd, "analysis_metrics.json")))
    names = m.get("label_names", [])
    check(len(names) == 18, f"{len(names)} Lemotif labels")
    check(pr[0] == ["id"] + names + ["intensity"], f"predictions.csv header {pr[0]}")
    check(la[0] == ["id"] + names, f"labels.csv header {la[0]}")
    check(len(pr) == len(la) and len(pr) > 10, f"{len(pr)} prediction rows vs {len(la)} label rows")
    check([r[0] for r in pr[1:]] == [r[0] for r in la[1:]], "predictions.csv and labels.csv row order differs")
    P = [[float(x) for x in r[1:-1]] for r in pr[1:]]
    I = [float(r[-1]) for r in pr[1:]]
    Y = [[int(x) for x in r[1:]] for r in la[1:]]
    check(all(0.0 <= v <= 1.0 for row in P for v in row), "a probability outside [0,1]")
    check(all(0.0 <= v <= 1.0 for v in I), "an intensity outside [0,1]")
    check(all(v in (0, 1) for row in Y for v in row), "a label other than 0/1")
    check(m["n_rows"] == len(P), f"n_rows {m['n_rows']} != {len(P)}")

    # analysis_metrics.json: reference keys, exact types
    ref = {"model": str, "config": str, "timestamp": str, "micro_auc": float, "macro_auc": float,
           "per_label_auc": list, "label_names": list}
    for k, t in ref.items():
        check(isinstance(m.get(k), t), f"analysis_metrics.json: {k} is {type(m.get(k)).__name__}, want {t.__name__}")
    check(m["config"] == "run.yaml", f"config key {m['config']!r}")
    check(m["model"] == "tiny-scratch", f"model key {m['model']!r}")
    check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}", m["timestamp"]) is not None,
          f"timestamp {m['timestamp']!r} is not ISO 8601 with microseconds")
    check(len(m["per_label_auc"]) == len(names), "per_label_auc not aligned with label_names")
    for k in ["undefined_labels", "micro_auc_ci", "macro_auc_ci", "micro_ap", "macro_ap", "per_label_ap", "support",
              "n_params", "model_bytes", "latency_ms", "intensity", "thresholds", "f1"]:
        check(k in m, f"analysis_metrics.json lacks {k}")
    for k in ["micro_auc_ci", "macro_auc_ci"]:
        lo, hi = m[k]
        check(lo <= m[k.replace("_ci", "")] <= hi, f"{k} {m[k]} does not contain the estimate")
    check(m["support"] == [sum(r[j] for r in Y) for j in range(len(names))], "support != positives in labels.csv")
    from sklearn.metrics import roc_auc_score
    aucs = []
    for j, name in enumerate(names):
        col = [r[j] for r in Y]
        defined = 0 < sum(col) < len(col)
        got = m["per_label_auc"][j]
        if not defined:
            check(got is None, f"{name}: one class in the test split but AUC {got}")
            check(name in m["undefined_labels"], f"{name} missing from undefined_labels")
        else:
            want = roc_auc_score(col, [r[j] for r in P])
            aucs.append(want)
            check(got is not None and abs(got - want) < 1e-6, f"{name}: AUC {got} vs sklearn {want}")
    check(abs(m["macro_auc"] - sum(aucs) / len(aucs)) < 1e-6, f"macro_auc {m['macro_auc']} vs sklearn")
    flatY = [v for r in Y for v in r]
    flatP = [v for r in P for v in r]
    check(abs(m["micro_auc"] - roc_auc_score(flatY, flatP)) < 1e-6, "micro_auc vs sklearn")
    inten = m["intensity"]
    check(sorted(inten["pearson"]) == ["anger", "fear", "joy", "sadness"], f"intensity emotions {inten['pearson']}")
    rs = [v for v in inten["pearson"].values() if v is not None]
    check(abs(inten["mean"] - sum(rs) / len(rs)) < 1e-12, "intensity mean is not the mean of the emotions")
    numel, header = safetensors_numel(os.path.join(rd, "final_model", "model.safetensors"))
    check(m["n_params"] == numel, f"n_params {m['n_params']} != {numel} floats in model.safetensors")
    check(m["model_bytes"] == os.path.getsize(os.path.join(rd, "final_model", "model.safetensors")), "model_bytes")
    check(isinstance(m["latency_ms"], float) and m["latency_ms"] > 0, f"latency_ms {m['latency_ms']}")
    check("heads.emotion.2.bias" in header and header["heads.emotion.2.weight"]["shape"] == [18, 32],
          "final_model lacks the 18-label emotion head")
    check(any(k.startswith("bert.encoder.layer.0.") for k in header), "encoder keys are not BERT's")
    heads = json.load(open(os.path.join(rd, "final_model", "affect_heads.json")))
    check(heads["label_names"] == names, "affect_heads.json label names")
    check(heads["intensity"]["enabled"] is True, "intensity head not marked trained")

    # the inference path on the exported folder agrees with the trainer's test predictions
    texts = {}
    lem = os.path.join(DATA, "lemotif", "lemotif.csv")
    with open(lem, newline="") as f:
        for k, row in enumerate(csv.DictReader(f), start=1):
            texts[f"lemotif-{k}"] = row["Answer"]
    check_predict_matches(rd, texts, rows=3, intensity=False)

    # ---- K-fold cross-validation ----------------------------------------------------------------
    p, _ = run(["train", tiny_config("cv", **{"  lemotif:\n": LEXICAL}), "--folds", "3"])
    if check(p.returncode == 0, f"--folds 3: exit {p.returncode} {p.stderr[-1500:]}"):
        cv = json.load(open(os.path.join(TMP, "cv", "analysis_metrics.json"))).get("cv", {})
        check(cv.get("folds") == 3, f"cv.folds {cv.get('folds')}")
        alone = cv.get("encoder_alone", {})
        for k in ["macro_auc", "micro_auc", "intensity_pearson"]:
            per = alone.get(k, {}).get("per_fold", [])
            check(len(per) == 3 and all(isinstance(v, float) for v in per), f"cv.encoder_alone.{k} {alone.get(k)}")
        check(len(re.findall(r"fold \d: test macro AUC [\d.]+, .*\(encoder alone", p.stderr)) == 3,
              "fold lines do not report the encoder alone")
        for k in ["macro_auc", "micro_auc"]:
            per = cv.get(k, {}).get("per_fold", [])
            if check(len(per) == 3 and all(isinstance(v, float) for v in per), f"cv.{k}.per_fold {per}"):
                mu = sum(per) / 3
                sd = math.sqrt(sum((v - mu) ** 2 for v in per) / 2)
                check(abs(cv[k]["mean"] - mu) < 1e-12 and abs(cv[k]["sd"] - sd) < 1e-12, f"cv.{k} mean/sd {cv[k]}")
        for k in range(3):
            check(os.path.isfile(os.path.join(TMP, "cv", "folds", str(k), "lemotif.unfrozen", "best", "model.safetensors")),
                  f"fold {k} has no best checkpoint")
        check(re.search(r"3-fold CV: macro AUC [\d.]+ ± [\d.]+", p.stderr) is not None, "no CV summary line")

    # ---- refusing to clobber, --check -------------------------------------------------------
    p, _ = run(["train", cfg])
    check(p.returncode == 2 and "--resume" in p.stderr, f"second run into the same folder: {p.returncode} {p.stderr}")
    p, _ = run(["train", cfg, "--check"])
    check(p.returncode == 0 and "check passed" in p.stderr, f"--check: {p.returncode} {p.stderr}")

    # ---- the research team's configs, weights absent ------------------------------------------
    for name, hub in [("distilbert", "distilbert/distilbert-base-uncased"),
                      ("minilm", "nreimers/MiniLMv2-L12-H384-distilled-from-RoBERTa-Large"),
                      ("tinybert", "huawei-noah/TinyBERT_General_4L_312D")]:
        p, _ = run(["train", os.path.join(SRC, "configs", name + ".yaml")])
        check(p.returncode == 2, f"{name}.yaml without weights: exit {p.returncode}")
        check(hub in p.stderr and f"affect pull {hub}" in p.stderr,
              f"{name}.yaml: error does not name {hub} and `affect pull`: {p.stderr!r}")
        check(not os.path.exists(os.path.join(TMP, "artifacts")), f"{name}.yaml created a run folder anyway")

    # ---- bad configs: file:line --------------------------------------------------------------
    bad = tiny_config("bad1", **{"    learning_rate: 1e-3\n    train_batch_size: 16": "    learning_rat: 1e-3\n    train_batch_size: 16"})
    p, _ = run(["train", bad])
    check(p.returncode == 2 and re.search(r"bad1\.yaml:\d+: .*learning_rat", p.stderr) and "learning_rate" in p.stderr,
          f"unknown key: {p.returncode} {p.stderr!r}")
    bad = tiny_config("bad2", **{"max_rows: 240": "max_rows: lots"})
    p, _ = run(["train", bad])
    check(p.returncode == 2 and re.search(r"bad2\.yaml:\d+: .*max_rows", p.stderr),
          f"wrong type: {p.returncode} {p.stderr!r}")

    # the masked-LM stage (stage 0): its folder and log lines, and it changes what follows
    mlm = tiny_config("mlm", **{"training:\n": "training:\n  pretrain_mlm:\n    enabled: true\n"
                                              "    learning_rate: 1e-3\n    train_batch_size: 16\n    num_epochs: 2\n"})
    p, _ = run(["train", mlm])
    if check(p.returncode == 0, f"affect train with pretrain_mlm: exit {p.returncode}\n{p.stderr[-2000:]}"):
        md = os.path.join(TMP, "mlm")
        for sub in ["best", "last"]:
            for f in ["model.safetensors", "optimizer.safetensors"]:
                check(os.path.isfile(os.path.join(md, "pretrain_mlm", sub, f)), f"run folder lacks pretrain_mlm/{sub}/{f}")
        _, hdr = safetensors_numel(os.path.join(md, "pretrain_mlm", "best", "model.safetensors"))
        check("cls.predictions.transform.dense.weight" in hdr and "cls.predictions.bias" in hdr
              and "bert.embeddings.word_embeddings.weight" in hdr, "pretrain_mlm checkpoint lacks the masked-LM head")
        ml = [json.loads(l) for l in open(os.path.join(md, "train_log.jsonl"))]
        tr = [l for l in ml if l["type"] == "train" and l["stage"] == "pretrain_mlm"]
        ev = [l for l in ml if l["type"] == "eval" and l["stage"] == "pretrain_mlm"]
        vocab = len(json.load(open(os.path.join(md, "vocab", "tokenizer.json")))["model"]["vocab"])
        check(len(ev) == 2 and all(isinstance(e.get("val_mlm_loss"), float) for e in ev),
              f"pretrain_mlm: eval lines {ev}")
        # training from a uniform guess (loss ln V) must get below it on held-out texts
        check(ev and ev[-1]["val_mlm_loss"] < math.log(vocab), f"masked-LM validation loss {ev[-1:]} vs ln V {math.log(vocab):.3f}")
        check(tr and tr[0]["loss"] > tr[-1]["loss"], "masked-LM training loss did not fall")
        stages = [l["stage"] for l in ml if l["type"] == "eval"]
        check(stages.index("pretrain_mlm") < stages.index("goemotions"), f"stage order {stages}")
        a = open(os.path.join(rd, "final_model", "model.safetensors"), "rb").read()
        b = open(os.path.join(md, "final_model", "model.safetensors"), "rb").read()
        check(a != b, "the masked-LM stage did not change the final model")
        _, fh = safetensors_numel(os.path.join(md, "final_model", "model.safetensors"))
        check(not any(k.startswith("cls.") for k in fh), "the exported model carries the masked-LM head")

    # data.emoint_input: both: each EmoInt train tweet twice (prefixed and plain), dev prefixed
    # (with the lexical model of training.lemotif.lexical, emotions and intensity)
    # and data.emoint_val: a fifth of each emotion's EmoInt train rows held out before the doubling
    both = tiny_config("both", **{"data:\n": "data:\n  emoint_input: both\n  emoint_val: 0.2\n", "  lemotif:\n": LEXICAL})
    p, _ = run(["train", both])
    if check(p.returncode == 0, f"affect train with emoint_input both: exit {p.returncode}\n{p.stderr[-2000:]}"):
        m = re.search(r"EmoInt (\d+) train \((\d+) held out for validation\) / (\d+) dev", p.stderr)
        check(m is not None and 30 <= int(m.group(2)) <= 66 and int(m.group(1)) == 2 * (240 - int(m.group(2))) and
              int(m.group(3)) == 240, f"emoint_input both, emoint_val 0.2: data line {m.group(0) if m else p.stderr[:300]!r} "
              "(want 2 x (240 - held out) train, about 48 held out, 240 dev)")
        heads = json.load(open(os.path.join(TMP, "both", "final_model", "affect_heads.json")))
        check(heads["intensity"].get("emotion_prefix") is True, f"emoint_input both: heads {heads['intensity']}")
        check_lexical_run(os.path.join(TMP, "both"), p.stderr, texts)

    # training.lemotif.soup: 2 stage-2 runs (seeds +0, +1), weights averaged into the final model
    soup = tiny_config("soup", **{"  lemotif:\n": "  lemotif:\n    soup: 2\n"})
    p, _ = run(["train", soup])
    if check(p.returncode == 0, f"affect train with soup 2: exit {p.returncode}\n{p.stderr[-2000:]}"):
        sd = os.path.join(TMP, "soup")
        check(re.search(r"soup of 2 stage-2 runs: validation macro AUC [\d.]+ \(members' best: [\d.]+, [\d.]+\)",
                        p.stderr) is not None, "no soup summary line")
        members = [os.path.join(sd, "lemotif.unfrozen", "best", "model.safetensors"),
                   os.path.join(sd, "soup", "1", "lemotif.unfrozen", "best", "model.safetensors")]
        if check(all(os.path.isfile(m) for m in members), f"soup member checkpoints missing: {members}"):
            a, b = (read_tensors(m) for m in members)
            f = read_tensors(os.path.join(sd, "final_model", "model.safetensors"))
            diff = [k for k in a if not k.startswith("lexical.")
                    and not np.array_equal(f[k], ((a[k].astype(np.float64) + b[k]) / 2).astype(np.float32))]
            check(not diff and len(a) > 10, f"final_model is not the mean of the two members: {diff[:5]}")
            check(any(not np.array_equal(a[k], b[k]) for k in a), "the two soup members are identical (same seed?)")
    # ... and every member starts from the same heads (as from the same encoder), or the average
    # would mix unrelated hidden units: with a learning rate of 0 the members end where they began
    still = tiny_config("soup_lr0", **{"  lemotif:\n": "  lemotif:\n    soup: 2\n",
                                       "      learning_rate: 1e-3\n": "      learning_rate: 0\n",
                                       "      learning_rate: 5e-4\n": "      learning_rate: 0\n"})
    p, _ = run(["train", still])
    if check(p.returncode == 0, f"affect train with soup 2, lr 0: exit {p.returncode}\n{p.stderr[-2000:]}"):
        sd = os.path.join(TMP, "soup_lr0")
        a, b = (read_tensors(os.path.join(sd, *d, "lemotif.unfrozen", "best", "model.safetensors"))
                for d in ([], ["soup", "1"]))
        heads = [k for k in a if k.startswith("heads.")]
        differ = [k for k in a if not np.array_equal(a[k], b[k])]
        check(len(heads) >= 8 and not differ, f"soup members start from different weights: {differ[:4]}")

    # data.custom: the user's own stage-2 file (here 300 Lemotif entries rewritten as a CSV with
    # an id column and a ';'-separated label-list column) replaces Lemotif end to end
    lem = list(csv.DictReader(open(os.path.join(SHARED, "data", "lemotif", "lemotif.csv"), encoding="utf-8")))[:300]
    emos = [k[len("Answer.f1."):-len(".raw")] for k in lem[0] if k.startswith("Answer.f1.")]
    cp = os.path.join(TMP, "custom.csv")
    with open(cp, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["entry_id", "entry", "feelings"])
        for i, r in enumerate(lem):
            w.writerow([f"j{i:04d}", r["Answer"], ";".join(e for e in emos if r[f"Answer.f1.{e}.raw"].upper() == "TRUE")])
    cust = tiny_config("custom", **{"data:\n": "data:\n  custom:\n    path: " + cp + "\n    text_column: entry\n"
                                              "    id_column: entry_id\n    labels_column: feelings\n"
                                              "    label_separator: \";\"\n    label_names: [" + ", ".join(emos) + "]\n"})
    p, _ = run(["train", cust])
    if check(p.returncode == 0, f"affect train with data.custom: exit {p.returncode}\n{p.stderr[-2000:]}"):
        cd = os.path.join(TMP, "custom")
        am = json.load(open(os.path.join(cd, "analysis_metrics.json")))
        check(am["label_names"] == emos, f"data.custom label names {am['label_names']}")
        ids = [r["id"] for r in csv.DictReader(open(os.path.join(cd, "predictions.csv")))]
        check(ids and all(re.fullmatch(r"j\d{4}", i) for i in ids) and len(set(ids)) == len(ids),
              f"data.custom predictions ids {ids[:5]}")
        check(re.search(r"stage 2 240 rows", p.stderr) is not None, f"data.custom rows (300, max_rows 240): {p.stderr[:400]!r}")

    # ---- bad rows: file:line -----------------------------------------------------------------
    dd = os.path.join(TMP, "baddata")
    os.makedirs(os.path.join(dd, "goemotions"))
    for s in ["emoint", "lemotif"]:
        os.symlink(os.path.join(DATA, s), os.path.join(dd, s))
    shutil.copy(os.path.join(DATA, "goemotions", "labels.txt"), os.path.join(dd, "goemotions"))
    shutil.copy(os.path.join(DATA, "goemotions", "dev.tsv"), os.path.join(dd, "goemotions"))
    with open(os.path.join(DATA, "goemotions", "train.tsv")) as f:
        rows = [next(f) for _ in range(5)]
    rows[2] = "a text with a bad label id\t99\tabc123\n"
    with open(os.path.join(dd, "goemotions", "train.tsv"), "w") as f:
        f.writelines(rows)
    bad = tiny_config("bad3", **{"data:\n": f"data:\n  dir: {dd}\n"})
    p, _ = run(["train", bad])
    check(p.returncode == 2 and re.search(r"train\.tsv:3\b", p.stderr), f"bad GoEmotions row: {p.returncode} {p.stderr!r}")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # a crash is a failure with its cause
        import traceback
        traceback.print_exc()
        fail(f"exception: {e}")
    if failures:
        print(f"{len(failures)} failure(s)")
        sys.exit(1)
    print("test_pipeline: all checks passed")
