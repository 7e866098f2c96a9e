"""`affect compare` on synthetic run folders written exactly as /work/notes/runfolder.md says
(analysis_metrics.json with the reference keys plus added keys, predictions.csv, labels.csv).

Checks: the table order (macro AUC, best first) in text, Markdown and JSON; each run's five
best and five worst labels (undefined labels skipped, ties in label order); the paired
bootstrap of the top two against a Python re-implementation of src/eval/bootstrap.c's
documented RNG scored with scikit-learn (to 1e-12); significant and not-significant verdicts
and the summary that states them; the most-disagreed label and the Pareto front; refusal
(exit 2, clear message) when the top two runs were scored on different rows; colours only on
a TTY; HTML escaping, self-containment, heatmap cell count and ROC AUCs; the atomic write of
--html (new inode, no temp files left, old file kept when the command fails).
Run by ctest with AFFECT_BIN and AFFECT_TEST_TMP set. The helpers make_run / standard_runs
are reused by tests/test_report_browser.py.
"""
import csv
import json
import math
import os
import pty
import re
import subprocess
import sys
import tempfile
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "oracles"))
from bootstrap_rng import resample_rows  # noqa: E402

import numpy as np
from sklearn.metrics import roc_auc_score

warnings.simplefilter("ignore")
TOL = 1e-12
BIN = os.environ.get("AFFECT_BIN", "affect")
TMP = os.environ.get("AFFECT_TEST_TMP") or tempfile.gettempdir()

LABELS = ["joy", "sadness", "anger", "fear", "grief", "surprise", "love", "pride"]


# ---- synthetic run folders ---------------------------------------------------------------
def auc_or_none(y, p):
    return float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else None


def write_csv(path, header, ids, M, fmt):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")  # RFC 4180 quoting for label names with , or "
        w.writerow(header)
        for rid, row in zip(ids, M):
            w.writerow([rid] + [fmt(v) for v in row])


def make_run(root, name, model, config, labels, ids, Y, P, model_bytes=None, latency_ms=None,
             metrics_override=None, write_csvs=True):
    """A run folder: analysis_metrics.json computed with scikit-learn from (P, Y), and the CSVs."""
    d = os.path.join(root, name)
    os.makedirs(d, exist_ok=True)
    per = [auc_or_none(Y[:, j], P[:, j]) for j in range(len(labels))]
    defined = [a for a in per if a is not None]
    m = {
        "model": model,
        "config": config,
        "timestamp": "2026-11-26T05:12:33.123456",
        "micro_auc": float(roc_auc_score(Y.ravel(), P.ravel())),
        "macro_auc": sum(defined) / len(defined) if defined else None,
        "per_label_auc": per,
        "label_names": list(labels),
        "undefined_labels": [l for l, a in zip(labels, per) if a is None],
        "micro_auc_ci": None, "macro_auc_ci": None,
        "support": [int(v) for v in Y.sum(axis=0)],
        "n_rows": int(len(Y)),
        "n_params": 1000,
        "model_bytes": model_bytes,
        "latency_ms": latency_ms,
        "intensity": {"pearson": {"anger": 0.5}, "mean": 0.5},
    }
    if metrics_override:
        m.update(metrics_override)
    if m["macro_auc"] is not None and m.get("macro_auc_ci") is None:
        m["macro_auc_ci"] = [m["macro_auc"] - 0.02, min(1.0, m["macro_auc"] + 0.02)]
    with open(os.path.join(d, "analysis_metrics.json"), "w") as f:
        json.dump(m, f, indent=2)
    if write_csvs:
        inten = np.round(P.mean(axis=1), 6)
        write_csv(os.path.join(d, "predictions.csv"), ["id"] + list(labels) + ["intensity"], ids,
                  np.column_stack([P, inten]), lambda v: "%.9g" % v)
        write_csv(os.path.join(d, "labels.csv"), ["id"] + list(labels), ids, Y, lambda v: "%d" % v)
    return d, m


def synth_gold(rng, n, labels):
    rates = np.linspace(0.08, 0.35, len(labels))
    Y = (rng.random((n, len(labels))) < rates).astype(float)
    if "grief" in labels:
        Y[:, labels.index("grief")] = 0  # no positives: AUC undefined (null) for every run
    return Y


def synth_scores(rng, Y, strength):
    """Probabilities with per-label skill `strength` (array or scalar), rounded to 3 decimals so ties occur."""
    z = (2 * Y - 1) * np.asarray(strength) + rng.normal(0, 1, Y.shape)
    return np.round(1 / (1 + np.exp(-z)), 3)


def standard_runs(root, seed=7, n=240, labels=None):
    """Three runs on the same rows: a DistilBERT default, a MiniLM ablation, a small TinyBERT."""
    rng = np.random.default_rng(seed)
    labels = list(labels or LABELS)
    ids = ["r%04d" % i for i in range(n)]
    Y = synth_gold(rng, n, labels)
    L = len(labels)
    runs = [
        ("distilbert-default", "distilbert-base-uncased", "default.yaml", np.linspace(1.6, 0.9, L), 267_843_584, 9.84),
        ("minilm-ablation", "nreimers/MiniLM-L6-H384-uncased", "ablation_no_lemotif.yaml",
         np.linspace(1.0, 1.5, L), 90_866_412, 3.12),
        ("tinybert", "huawei-noah/TinyBERT_General_4L_312D", "tinybert.yaml", np.full(L, 0.6), 57_410_000, 1.93),
    ]
    out = []
    for name, model, cfg, strength, size, lat in runs:
        P = synth_scores(rng, Y, strength)
        d, m = make_run(root, name, model, cfg, labels, ids, Y, P, size, lat)
        out.append({"dir": d, "metrics": m, "P": P, "Y": Y, "ids": ids, "labels": labels})
    return out


# ---- bootstrap: the documented RNG, re-implemented in tests/oracles/bootstrap_rng.py ----


def macro_auc(P, Y):
    vals = [roc_auc_score(Y[:, j], P[:, j]) for j in range(Y.shape[1]) if 0 < Y[:, j].sum() < len(Y)]
    return sum(vals) / len(vals) if vals else None


def ref_paired(PA, PB, Y, B, seed, level):
    diffs = []
    for b in range(B):
        idx = resample_rows(seed, b, len(Y))
        ma = macro_auc(PA[idx], Y[idx])
        if ma is None:
            continue
        mb = macro_auc(PB[idx], Y[idx])
        if mb is None:
            continue
        diffs.append(ma - mb)
    q = (1 - level) / 2
    lo, hi = (float(x) for x in np.quantile(np.array(diffs), [q, 1 - q]))
    le0 = sum(1 for d in diffs if d <= 0) / len(diffs)
    return macro_auc(PA, Y) - macro_auc(PB, Y), lo, hi, le0, len(diffs)


# ---- test plumbing -----------------------------------------------------------------------
failures = []
checks = 0


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg)


def check(cond, msg):
    global checks
    checks += 1
    if not cond:
        fail(msg)
    return cond


def close(a, b, what, tol=TOL):
    ok = (a is None and b is None) or (a is not None and b is not None and abs(a - b) <= tol)
    return check(ok, f"{what}: got {a!r}, expected {b!r}")


def run(args, expect=0):
    p = subprocess.run([BIN, "compare"] + args, capture_output=True, text=True, timeout=120)
    check(p.returncode == expect, f"compare {' '.join(args)}: exit {p.returncode}, expected {expect}; stderr: {p.stderr.strip()}")
    return p


def expected_best_worst(per, labels):
    idx = [j for j in range(len(labels)) if per[j] is not None]
    best = sorted(idx, key=lambda j: (-per[j], j))[:5]
    worst = sorted(idx, key=lambda j: (per[j], j))[:5]
    return [labels[j] for j in best], [labels[j] for j in worst]


def main():
    os.makedirs(TMP, exist_ok=True)
    work = tempfile.mkdtemp(prefix="compare-", dir=TMP)
    runs = standard_runs(work)
    dirs = [r["dir"] for r in runs]
    # command-line order deliberately not the ranking
    order_in = [dirs[2], dirs[0], dirs[1]]
    exp_rank = sorted(runs, key=lambda r: -r["metrics"]["macro_auc"])
    B, SEED = 200, 11

    # ---- JSON: order, best/worst, paired test, disagreement, Pareto, summary -------------
    p = run(order_in + ["--json", "--bootstrap", str(B), "--seed", str(SEED)])
    out = json.loads(p.stdout)
    got_order = [r["dir"] for r in out["runs"]]
    check(got_order == [r["dir"] for r in exp_rank], f"JSON order {got_order}")
    for r, e in zip(out["runs"], exp_rank):
        m = e["metrics"]
        close(r["macro_auc"], m["macro_auc"], f"{r['name']} macro_auc")
        close(r["micro_auc"], m["micro_auc"], f"{r['name']} micro_auc")
        best, worst = expected_best_worst(m["per_label_auc"], e["labels"])
        check([x["label"] for x in r["best_labels"]] == best, f"{r['name']} best labels {r['best_labels']} != {best}")
        check([x["label"] for x in r["worst_labels"]] == worst, f"{r['name']} worst labels {r['worst_labels']} != {worst}")
        check("grief" not in best + worst, "undefined label 'grief' listed among best/worst")
        # each listed label carries its test positives (the support the metrics file records)
        sup = dict(zip(e["labels"], m["support"]))
        pos = [(x["label"], x["positives"]) for x in r["best_labels"] + r["worst_labels"]]
        check(all(n == sup[l] for l, n in pos), f"{r['name']} positives {pos} != support {sup}")
    check(out["per_label_auc"][0][LABELS.index("grief")] is None, "grief must be null in the AUC matrix")

    A, Bb = exp_rank[0], exp_rank[1]
    diff, lo, hi, le0, used = ref_paired(A["P"], Bb["P"], A["Y"], B, SEED, 0.95)
    pr = out["paired"]
    check(pr is not None, "paired test missing from JSON")
    if pr:
        check(pr["a"] == A["dir"] and pr["b"] == Bb["dir"], f"paired runs {pr['a']} vs {pr['b']}")
        close(pr["diff"], diff, "paired diff")
        close(pr["diff_ci"][0], lo, "paired diff CI low")
        close(pr["diff_ci"][1], hi, "paired diff CI high")
        close(pr["frac_diff_le0"], le0, "share of resamples <= 0")
        check(pr["used"] == used and pr["resamples"] == B and pr["n_rows"] == len(A["ids"]), f"paired counts {pr}")
        close(pr["macro_auc_a"], A["metrics"]["macro_auc"], "paired macro A (recomputed from CSV)")
        check(pr["excludes_zero"] == (lo > 0 or hi < 0), "excludes_zero flag")
        print(f"paired: diff {diff:.6f} CI [{lo:.6f}, {hi:.6f}] le0 {le0:.3f} used {used} (matches Python to 1e-12)")

    # disagreement: largest spread of per-label AUC across runs
    spreads = []
    for j, l in enumerate(LABELS):
        v = [r["metrics"]["per_label_auc"][j] for r in runs if r["metrics"]["per_label_auc"][j] is not None]
        if len(v) >= 2:
            spreads.append((max(v) - min(v), -j, l))
    exp_dis = max(spreads)
    check(out["disagreement"]["label"] == exp_dis[2], f"disagreement {out['disagreement']} expected {exp_dis[2]}")
    close(out["disagreement"]["spread"], exp_dis[0], "disagreement spread")
    # Pareto: smaller and better
    front = []
    for r in runs:
        s, a = r["metrics"]["model_bytes"], r["metrics"]["macro_auc"]
        dom = any(o is not r and o["metrics"]["model_bytes"] <= s and o["metrics"]["macro_auc"] >= a and
                  (o["metrics"]["model_bytes"] < s or o["metrics"]["macro_auc"] > a) for o in runs)
        if not dom:
            front.append(r["dir"])
    check(sorted(out["pareto"]) == sorted(front), f"pareto {out['pareto']} expected {front}")
    summ = out["summary"]
    check(summ.startswith(f"{A['metrics']['model']} ({A['metrics']['config']}) has the highest macro AUC"), f"summary start: {summ[:120]}")
    verdict = "is significant" if (lo > 0 or hi < 0) else "is not significant"
    check(verdict in summ, f"summary should say '{verdict}': {summ}")
    check(f"disagree most on '{exp_dis[2]}'" in summ, f"summary should name the disagreement label: {summ}")

    # ---- plain text: no colours off a TTY, table order, sections -------------------------
    p = run(order_in + ["--bootstrap", str(B), "--seed", str(SEED)])
    txt = p.stdout
    check("\x1b[" not in txt, "ANSI escapes in non-TTY output")
    rows = [l for l in txt.splitlines() if re.match(r"^\s*[123]\s{2}", l)]
    names = [l.split()[1] for l in rows[:3]]
    check(names == [os.path.basename(r["dir"]) for r in exp_rank], f"text table order {names}")
    for s in ("Best and worst labels", "Paired bootstrap test of the top two", "Summary", "255.4 MiB", "9.8 ms", "86.7 MiB",
              "(undefined, skipped: grief)"):
        check(s in txt, f"text output lacks {s!r}")
    check(("excludes 0: significant" if (lo > 0 or hi < 0) else "includes 0: not significant") in txt, "text verdict")
    check(f"{diff:.4f}" in txt and f"[{lo:.4f}, {hi:.4f}]" in txt, "text shows the paired numbers")
    # on a terminal: colours
    mfd, sfd = pty.openpty()
    pp = subprocess.run([BIN, "compare"] + order_in + ["--bootstrap", "10"], stdout=sfd, stderr=subprocess.PIPE, timeout=60,
                        env={k: v for k, v in os.environ.items() if k != "NO_COLOR"})
    os.close(sfd)
    chunks = []
    while True:
        try:
            c = os.read(mfd, 65536)
        except OSError:
            break
        if not c:
            break
        chunks.append(c)
    os.close(mfd)
    tty_out = b"".join(chunks).decode("utf-8", "replace")
    check(pp.returncode == 0 and "\x1b[1m" in tty_out and "\x1b[0m" in tty_out, "no ANSI colours on a TTY")
    p = run(order_in + ["--color", "--bootstrap", "10"])
    check("\x1b[32m" in p.stdout, "--color should force colours")

    # ---- Markdown -----------------------------------------------------------------------
    p = run(order_in + ["--markdown", "--bootstrap", str(B), "--seed", str(SEED)])
    md = p.stdout
    check("| # | run | model | config | micro AUC | macro AUC | macro 95% CI | size | latency |" in md, "markdown header")
    check("| ---: | --- | --- | --- | ---: | ---: | --- | ---: | ---: |" in md, "markdown alignment row")
    mrows = [l for l in md.splitlines() if re.match(r"^\| [123] \|", l)]
    check([l.split("|")[2].strip().replace("\\", "") for l in mrows] == [os.path.basename(r["dir"]) for r in exp_rank],
          f"markdown order {mrows}")
    check("\x1b[" not in md and "### Summary" in md and "### Paired bootstrap test" in md, "markdown sections")
    check("huawei-noah/TinyBERT\\_General\\_4L\\_312D" in md, "markdown escapes underscores in model ids")

    # ---- significant vs not significant ---------------------------------------------------
    rng = np.random.default_rng(99)
    n = 200
    ids = ["s%03d" % i for i in range(n)]
    labs = ["a|b", "c", "d"]
    Y = synth_gold(rng, n, labs)
    sdir = os.path.join(work, "sig")
    make_run(sdir, "strong", "strong-model", "s.yaml", labs, ids, Y, synth_scores(rng, Y, 2.0), 1000, 1.0)
    make_run(sdir, "weak", "weak-model", "w.yaml", labs, ids, Y, synth_scores(rng, Y, 0.2), 2000, 1.0)
    p = run([os.path.join(sdir, "weak"), os.path.join(sdir, "strong"), "--json", "--bootstrap", "200"])
    o = json.loads(p.stdout)
    check(o["paired"]["excludes_zero"] is True and o["paired"]["diff_ci"][0] > 0, f"strong vs weak should be significant: {o['paired']}")
    check("is significant" in o["summary"] and "It is also the smallest model" in o["summary"], f"summary: {o['summary']}")
    p = run([os.path.join(sdir, "weak"), os.path.join(sdir, "strong"), "--markdown", "--bootstrap", "50"])
    check("a\\|b" in p.stdout, "markdown must escape '|' in label names")
    P_same = synth_scores(rng, Y, 1.0)
    P_twin = np.clip(np.round(P_same + rng.normal(0, 0.002, P_same.shape), 3), 0, 1)
    make_run(sdir, "twin1", "twin-a", "t.yaml", labs, ids, Y, P_same, 1000, 1.0)
    make_run(sdir, "twin2", "twin-b", "t.yaml", labs, ids, Y, P_twin, 1000, 1.0)
    p = run([os.path.join(sdir, "twin1"), os.path.join(sdir, "twin2"), "--json", "--bootstrap", "200"])
    o = json.loads(p.stdout)
    check(o["paired"]["excludes_zero"] is False, f"near-identical models must not be significant: {o['paired']}")
    check("is not significant" in o["summary"] and "cannot tell the two apart" in o["summary"], f"summary: {o['summary']}")

    # ---- refusal: different rows --------------------------------------------------------
    ids2 = list(ids)
    ids2[17] = "other-row"
    make_run(sdir, "shifted", "shifted-model", "x.yaml", labs, ids2, Y, synth_scores(rng, Y, 3.0), 1000, 1.0)
    p = run([os.path.join(sdir, "strong"), os.path.join(sdir, "shifted"), "--bootstrap", "50"], expect=2)
    check("row ids differ" in p.stderr and "other-row" in p.stderr and "s017" in p.stderr and p.stdout == "",
          f"mismatched ids message: {p.stderr!r}")
    make_run(sdir, "shorter", "shorter-model", "x.yaml", labs, ids[:150], Y[:150], synth_scores(rng, Y[:150], 3.0), 1000, 1.0)
    p = run([os.path.join(sdir, "strong"), os.path.join(sdir, "shorter"), "--bootstrap", "50"], expect=2)
    check("150 rows" in p.stderr and "200" in p.stderr, f"row-count mismatch message: {p.stderr!r}")
    # --bootstrap 0: no paired test, so no refusal either, and the reason is stated
    p = run([os.path.join(sdir, "strong"), os.path.join(sdir, "shifted"), "--bootstrap", "0", "--json"])
    check(json.loads(p.stdout)["paired"] is None and "off" in json.loads(p.stdout)["paired_note"], "--bootstrap 0")

    # ---- hand-written metrics: ties and nulls in best/worst, runs without CSVs -------------
    hdir = os.path.join(work, "hand")
    hl = ["l%d" % k for k in range(12)]
    per = [0.9, 0.7, None, 0.9, 0.55, 0.7, 0.8, None, 0.55, 0.95, 0.6, 0.7]
    make_run(hdir, "h1", "hand-model", "h.yaml", hl, ["x0", "x1"], np.array([[0] * 12, [1] * 12], float),
             np.zeros((2, 12)), None, None, {"per_label_auc": per, "macro_auc": 0.74, "micro_auc": 0.7}, write_csvs=False)
    make_run(hdir, "h2", "hand-model-2", "h.yaml", hl, ["x0", "x1"], np.array([[0] * 12, [1] * 12], float),
             np.zeros((2, 12)), None, None, {"per_label_auc": [0.5] * 12, "macro_auc": 0.74, "micro_auc": 0.5}, write_csvs=False)
    p = run([os.path.join(hdir, "h1"), os.path.join(hdir, "h2"), "--json"])
    o = json.loads(p.stdout)
    r0 = o["runs"][0]
    check(r0["name"] == "h1", "equal macro AUC keeps command-line order")
    check([x["label"] for x in r0["best_labels"]] == ["l9", "l0", "l3", "l6", "l1"], f"tie order best {r0['best_labels']}")
    check([x["label"] for x in r0["worst_labels"]] == ["l4", "l8", "l10", "l1", "l5"], f"tie order worst {r0['worst_labels']}")
    check(o["paired"] is None and "predictions.csv" in o["paired_note"], f"note for a run without CSVs: {o['paired_note']}")
    check(o["pareto"] == [] and "Pareto" not in o["summary"], "no sizes: no Pareto front")
    # equal sizes: the best run is not called "the smallest"
    for name, macro in (("t1", 0.8), ("t2", 0.7)):
        make_run(hdir, name, "same-size", "t.yaml", hl, ["x0", "x1"], np.array([[0] * 12, [1] * 12], float),
                 np.zeros((2, 12)), 4e6, 1.0, {"per_label_auc": [macro] * 12, "macro_auc": macro, "micro_auc": macro},
                 write_csvs=False)
    o = json.loads(run([os.path.join(hdir, "t1"), os.path.join(hdir, "t2"), "--json"]).stdout)
    check("smallest" not in o["summary"] and "no larger than any other" in o["summary"], f"size tie summary: {o['summary']}")

    # ---- bad inputs -------------------------------------------------------------------
    p = subprocess.run([BIN, "compare", work], capture_output=True, text=True)
    check(p.returncode != 0 and "not a run folder" in p.stderr, f"not a run folder: {p.returncode} {p.stderr!r}")
    bad = os.path.join(work, "bad")
    os.makedirs(bad)
    with open(os.path.join(bad, "analysis_metrics.json"), "w") as f:
        json.dump({"model": "m", "config": "c", "micro_auc": 0.5, "macro_auc": 0.5, "label_names": ["a"]}, f)
    p = run([bad], expect=2)
    check('"per_label_auc" is missing' in p.stderr, f"missing key message: {p.stderr!r}")
    with open(os.path.join(bad, "analysis_metrics.json"), "w") as f:
        json.dump({"model": "m", "config": "c", "micro_auc": 0.5, "macro_auc": 1.5, "per_label_auc": [0.5], "label_names": ["a"]}, f)
    p = run([bad], expect=2)
    check("outside [0, 1]" in p.stderr, f"macro out of range message: {p.stderr!r}")
    run([], expect=2)
    run([dirs[0], "--markdown", "--json"], expect=2)

    # ---- HTML: escaping, self-containment, cells, ROC, atomic write -----------------------
    edir = os.path.join(work, "esc")
    el = ["<script>alert(1)</script>", "a&b", 'q"uote', "plain", "grief"]
    rng = np.random.default_rng(5)
    Y = synth_gold(rng, 120, el)
    eids = ["e%03d" % i for i in range(120)]
    make_run(edir, "x<y>", "<b>evil</b>", "c&d.yaml", el, eids, Y, synth_scores(rng, Y, [2.5, 1.0, 0.3, 1.5, 1.0]), 5e6, 2.0)
    make_run(edir, "other", "m2", "c.yaml", el, eids, Y, synth_scores(rng, Y, 0.8), 2e6, 1.0)
    html = os.path.join(work, "out", "report.html")
    os.makedirs(os.path.dirname(html))
    p = run([os.path.join(edir, "x<y>"), os.path.join(edir, "other"), "--html", html, "--bootstrap", "50"])
    page = open(html, encoding="utf-8").read()
    check("<script" not in page.lower(), "unescaped <script in HTML")
    check("&lt;script&gt;alert(1)&lt;/script&gt;" in page and "a&amp;b" in page and "q&quot;uote" in page, "label escaping")
    check("&lt;b&gt;evil&lt;/b&gt;" in page and "<b>evil</b>" not in page and "c&amp;d.yaml" in page and "x&lt;y&gt;" in page,
          "model/config/path escaping")
    for bad_ref in ("<link", "src=", "@import", "@font-face", "href=", "https:", "//cdn"):
        check(bad_ref not in page, f"HTML references something external: {bad_ref!r}")
    check(re.findall(r"url\(([^)]*)\)", page) == ["#aucscale"], "only the internal gradient may be referenced by url()")
    check('name="viewport"' in page and "overflow-x:auto" in page, "responsive bits")
    cells = re.findall(r'data-cell="(auc|na)"', page)
    check(len(cells) == 2 * len(el), f"heatmap cells {len(cells)} != {2 * len(el)}")
    check(cells.count("na") == 2, f"n/a cells {cells.count('na')} != 2 (grief in both runs)")
    check(len(re.findall(r'>n/a</text>', page)) == 2, "n/a cells carry the text n/a")
    # ROC AUCs in the legend equal the best run's per-label AUC of its best and worst label
    jo = json.loads(run([os.path.join(edir, "x<y>"), os.path.join(edir, "other"), "--json", "--bootstrap", "0"]).stdout)
    top = jo["runs"][0]
    legend = re.findall(r"label <b>([^<]*)</b>: AUC ([0-9.]+)", page)
    check(len(legend) == 2 and len(re.findall(r'class="roc-curve"', page)) == 2, f"two ROC curves expected: {legend}")
    for (lab, a), want in zip(legend, [top["best_labels"][0], top["worst_labels"][0]]):
        check(abs(float(a) - want["auc"]) < 6e-5, f"ROC legend {lab} AUC {a} vs per-label {want}")
    check(len(re.findall(r'class="point"', page)) == 2, "scatter has one point per sized run")

    # atomic: a rewrite replaces the file (new inode), leaves no temp file behind
    ino = os.stat(html).st_ino
    run([os.path.join(edir, "other"), "--html", html, "--bootstrap", "0"])
    check(os.stat(html).st_ino != ino, "--html must write a new file and rename it over the old one")
    check(os.listdir(os.path.dirname(html)) == ["report.html"], f"leftovers: {os.listdir(os.path.dirname(html))}")
    before = open(html).read()
    run([os.path.join(edir, "other"), bad, "--html", html], expect=2)
    check(open(html).read() == before, "a failed compare must leave the old report untouched")
    p = run([os.path.join(edir, "other"), "--html", os.path.join(work, "no", "such", "dir", "r.html")], expect=2)
    check("cannot create a temporary file" in p.stderr, f"missing folder message: {p.stderr!r}")
    run([os.path.join(edir, "other"), "--html", os.path.dirname(html)], expect=2)

    if failures:
        print(f"test_compare: {len(failures)} of {checks} checks failed")
        sys.exit(1)
    print(f"test_compare: all {checks} checks passed")


if __name__ == "__main__":
    main()
