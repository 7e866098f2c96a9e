#!/usr/bin/env python3
"""`affect eval MODEL|RUN --data SPEC` and `--emoint GOLD...` on a tiny run (configs/tiny.yaml,
a few hundred rows, about a second to train), checked against independent computations:

  - `eval RUN --data lemotif:test --json` reproduces the run's analysis_metrics.json micro,
    macro and per-label AUC exactly (same split from the run's config.yaml, inference path);
  - `eval RUN/final_model --emoint GOLD...` Pearson r per emotion equals numpy's Pearson of
    the model's own intensities (`affect predict`, clamped to [0,1]) against the gold scores;
  - `--emoint-predictions` scores a prediction file with the same numbers;
  - `--out` writes a JSON file with the reference keys;
  - a bad SPEC and a bare encoder exit 2 with a message.
"""
import json
import math
import os
import shutil
import subprocess
import sys

import numpy as np

BIN = os.environ.get("AFFECT_BIN", "build/affect")
SRC = os.environ.get("AFFECT_SRC", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("AFFECT_SHARED", os.path.join(SRC, "..", "shared"))
TMP = os.path.join(os.environ.get("AFFECT_TEST_TMP", "/tmp"), "test_eval_model")
DATA = os.path.join(SHARED, "data")
EMO = os.path.join(DATA, "emoint")

failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL:", msg)
    return cond


def run(args, stdin=None, timeout=120):
    e = dict(os.environ)
    e["AFFECT_DATA"] = DATA
    e["HF_HUB_CACHE"] = os.path.join(TMP, "empty-hf-cache")
    e.pop("HF_HOME", None)
    return subprocess.run([BIN] + args, cwd=TMP, env=e, input=stdin, capture_output=True, text=True, timeout=timeout)


def main():
    shutil.rmtree(TMP, ignore_errors=True)
    os.makedirs(TMP)
    rd = os.path.join(TMP, "run")
    text = open(os.path.join(SRC, "configs", "tiny.yaml")).read().replace("artifacts/experiments/tiny", rd)
    cfg = os.path.join(TMP, "tiny.yaml")
    open(cfg, "w").write(text)
    p = run(["train", cfg], timeout=300)
    if not check(p.returncode == 0, f"affect train failed: {p.stderr[-2000:]}"):
        return
    ref = json.load(open(os.path.join(rd, "analysis_metrics.json")))

    # 1. the run's own test split, re-evaluated through the inference path
    p = run(["eval", rd, "--data", "lemotif:test", "--json"])
    if check(p.returncode == 0, f"eval --data lemotif:test: {p.stderr}"):
        got = json.loads(p.stdout)
        for k in ("label_names", "micro_auc", "macro_auc", "per_label_auc", "undefined_labels", "support", "n_rows",
                  "n_params", "model_bytes"):
            check(got.get(k) == ref.get(k), f"{k}: eval {got.get(k)} vs analysis_metrics.json {ref.get(k)}")
        check(got.get("split_from") == "run config", f"split_from {got.get('split_from')}")
        print("lemotif:test micro %.6f macro %.6f (run: %.6f %.6f)" % (got["micro_auc"], got["macro_auc"],
                                                                       ref["micro_auc"], ref["macro_auc"]))

    # 2. --out: an analysis_metrics.json-compatible file, written only with the reference keys' types
    out = os.path.join(TMP, "eval_metrics.json")
    p = run(["eval", rd, "--data", "lemotif:test", "--out", out])
    if check(p.returncode == 0 and os.path.exists(out), f"eval --out: {p.stderr}"):
        o = json.load(open(out))
        check(isinstance(o["model"], str) and isinstance(o["config"], str) and isinstance(o["timestamp"], str),
              "reference string keys")
        check(len(o["timestamp"]) == 26 and o["timestamp"][19] == ".", f"timestamp {o['timestamp']}")
        check(o["per_label_auc"] == ref["per_label_auc"] and o["label_names"] == ref["label_names"], "--out AUCs")
        check("macro AUC" in p.stdout and "afraid" in p.stdout, f"table output: {p.stdout[:300]}")
        lat = o.get("latency_ms")
        check(isinstance(lat, (int, float)) and lat > 0, f"--out latency_ms {lat!r}")

    # 3. EmoInt format: Pearson per emotion against numpy on the model's own predictions
    golds = [os.path.join(EMO, f"{e}-ratings-0to1.dev.gold.txt") for e in ("anger", "joy")]
    p = run(["eval", os.path.join(rd, "final_model"), "--emoint"] + golds + ["--json"])
    if check(p.returncode == 0, f"eval --emoint: {p.stderr}"):
        got = json.loads(p.stdout)
        rs = []
        pred_lines = []
        for g in golds:
            rows = [l.rstrip("\n").split("\t") for l in open(g, encoding="utf-8") if l.strip()]
            q = run(["predict", os.path.join(rd, "final_model")], stdin="".join(r[1] + "\n" for r in rows))
            if not check(q.returncode == 0, f"affect predict: {q.stderr}"):
                return
            pred = [min(1.0, max(0.0, json.loads(l)["intensity"])) for l in q.stdout.splitlines()]
            check(len(pred) == len(rows), f"{len(pred)} predictions for {len(rows)} tweets")
            emo = rows[0][2]
            # tolerance 1e-5: eval batches the tweets of all gold files together, predict per
            # file, and the inference path's float results depend slightly (~1e-6) on a
            # batch's padded length
            r = float(np.corrcoef(np.array(pred), np.array([float(x[3]) for x in rows]))[0, 1])
            rs.append(r)
            check(got["count"].get(emo) == len(rows), f"{emo} count {got['count'].get(emo)} vs {len(rows)}")
            check(abs(got["pearson"][emo] - r) < 1e-5, f"{emo}: eval r {got['pearson'][emo]} vs numpy {r}")
            print(f"EmoInt {emo}: eval r {got['pearson'][emo]:.9f} numpy {r:.9f}")
            pred_lines += [f"{x[0]}\t{v:.9g}\n" for x, v in zip(rows, pred)]
        check(abs(got["mean"] - sum(rs) / len(rs)) < 1e-5, f"mean {got['mean']} vs {sum(rs) / len(rs)}")
        # the same predictions as a file, scored without a model
        pf = os.path.join(TMP, "pred.txt")
        open(pf, "w").write("".join(reversed(pred_lines)))
        p = run(["eval", "--emoint-predictions", pf, "--emoint"] + golds + ["--json"])
        if check(p.returncode == 0, f"--emoint-predictions: {p.stderr}"):
            f = json.loads(p.stdout)
            check(abs(f["mean"] - got["mean"]) < 1e-6, f"file mean {f['mean']} vs model mean {got['mean']}")

    # 5. data.emoint_input: prefixed: the intensity head rates "<emotion>: <tweet>"; the flag travels in
    # affect_heads.json and every evaluation path applies it, so re-scoring EmoInt dev through
    # the exported model reproduces the run's own figure, and `--emoint` equals numpy on
    # `affect predict` of the prefixed texts (not of the bare ones)
    rp = os.path.join(TMP, "run_prefix")
    cfgp = os.path.join(TMP, "tiny_prefix.yaml")
    # (with a lexical model mixed into emotions and intensity, its regressions and ridges
    # reading GoEmotions outputs and character n-grams: training.lemotif.lexical)
    lexical = ("  lemotif:\n    lexical:\n      weight: 0.5\n      goemotions: 0.1\n      chars: 1.0\n"
               "      intensity_weight: 0.5\n      intensity_goemotions: 0.1\n"
               "      intensity_chars: 1.0\n      match_prior: true\n")
    open(cfgp, "w").write(text.replace(rd, rp).replace("data:\n", "data:\n  emoint_input: prefixed\n", 1)
                          .replace("  lemotif:\n", lexical, 1))
    p = run(["train", cfgp], timeout=300)
    if check(p.returncode == 0, f"affect train with data.emoint_input: prefixed: {p.stderr[-2000:]}"):
        heads = json.load(open(os.path.join(rp, "final_model", "affect_heads.json")))
        check(heads["intensity"].get("emotion_prefix") is True, f"affect_heads.json intensity: {heads['intensity']}")
        check(len(heads.get("lexical", {}).get("intensity", [])) == 5 and heads["lexical"].get("aux", {}).get("outputs") == 28
              and heads["lexical"].get("emotion_aux") is True and heads["lexical"].get("emotion_chars", {}).get("buckets") == 4096,
              f"affect_heads.json lexical: {heads.get('lexical')}")
        refl = json.load(open(os.path.join(rp, "analysis_metrics.json")))
        p = run(["eval", rp, "--data", "lemotif:test", "--json"])
        if check(p.returncode == 0, f"eval --data lemotif:test (lexical): {p.stderr}"):
            got = json.loads(p.stdout)
            for k in ("micro_auc", "macro_auc", "per_label_auc"):
                check(got.get(k) == refl.get(k), f"lexical run {k}: eval {got.get(k)} vs analysis_metrics.json {refl.get(k)}")
        # match_prior: through the exported model, each mixed label's mean probability on the
        # validation split equals its prevalence in the training split
        pv = run(["eval", rp, "--data", "lemotif:val", "--json"])
        pt = run(["eval", rp, "--data", "lemotif:train", "--json"])
        if check(pv.returncode == 0 and pt.returncode == 0, f"eval lemotif:val / train: {pv.stderr} {pt.stderr}"):
            v, t = json.loads(pv.stdout), json.loads(pt.stdout)
            prev = [c / t["n_rows"] for c in t["support"]]
            mixed = [j for j, c in enumerate(t["support"]) if 0 < c < t["n_rows"]]
            bad = [(v["label_names"][j], v["mean_probability"][j], prev[j]) for j in mixed
                   if abs(v["mean_probability"][j] - prev[j]) > 1e-4]
            check(len(mixed) >= 5 and not bad, f"match_prior: val mean probability vs train prevalence off for {bad} "
                  f"({len(mixed)} labels with train positives)")
        refp = json.load(open(os.path.join(rp, "analysis_metrics.json")))["intensity"]
        p = run(["eval", rp, "--data", "emoint:dev", "--json"])
        if check(p.returncode == 0, f"eval --data emoint:dev: {p.stderr}"):
            got = json.loads(p.stdout)["intensity"]
            check(abs(got["mean"] - refp["mean"]) < 1e-5,
                  f"prefixed model: eval emoint:dev r {got['mean']} vs the run's {refp['mean']}")
        g = golds[0]
        rows = [l.rstrip("\n").split("\t") for l in open(g, encoding="utf-8") if l.strip()]
        p = run(["eval", os.path.join(rp, "final_model"), "--emoint", g, "--json"])
        q1 = run(["predict", os.path.join(rp, "final_model")], stdin="".join(f"{r[2]}: {r[1]}\n" for r in rows))
        q0 = run(["predict", os.path.join(rp, "final_model")], stdin="".join(r[1] + "\n" for r in rows))
        if check(p.returncode == 0 and q1.returncode == 0 and q0.returncode == 0, f"prefixed eval/predict: {p.stderr}"):
            gold = np.array([float(r[3]) for r in rows])
            pr = [np.clip([json.loads(l)["intensity"] for l in q.stdout.splitlines()], 0, 1) for q in (q0, q1)]
            r1 = float(np.corrcoef(pr[1], gold)[0, 1])
            got = json.loads(p.stdout)["pearson"][rows[0][2]]
            check(abs(got - r1) < 1e-5, f"prefixed --emoint r {got} vs numpy on prefixed texts {r1}")
            check(not np.allclose(pr[0], pr[1]), "the prefix does not change the predictions")
            # `affect predict --emotion E` is the same as writing "E: text"
            q2 = run(["predict", os.path.join(rp, "final_model"), "--emotion", rows[0][2]],
                     stdin="".join(r[1] + "\n" for r in rows))
            check(q2.returncode == 0 and q2.stdout == q1.stdout, f"predict --emotion: {q2.returncode} {q2.stderr}")
        q3 = run(["predict", os.path.join(rd, "final_model"), "--emotion", "anger", "some text"])
        check(q3.returncode == 2 and "emoint_input" in q3.stderr and not q3.stdout,
              f"predict --emotion on a plain model: {q3.returncode} {q3.stderr!r}")

    # 4. errors
    p = run(["eval", rd, "--data", "lemotif:bogus"])
    check(p.returncode == 2 and "lemotif:test" in p.stderr and "emoint:dev" in p.stderr,
          f"bad spec: rc {p.returncode} {p.stderr}")
    p = run(["eval", rd, "--data", "goemotions:test"])
    check(p.returncode == 2 and "'admiration'" in p.stderr, f"label mismatch: rc {p.returncode} {p.stderr}")
    bare = os.path.join(TMP, "bare")
    shutil.copytree(os.path.join(rd, "final_model"), bare)
    os.remove(os.path.join(bare, "affect_heads.json"))
    p = run(["eval", bare, "--data", "lemotif:test"])
    check(p.returncode == 2 and "bare encoder" in p.stderr, f"bare encoder: rc {p.returncode} {p.stderr}")


if __name__ == "__main__":
    main()
    if failures:
        print(f"{len(failures)} failure(s)")
        sys.exit(1)
    print("ok")
