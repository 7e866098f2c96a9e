"""affect eval against scikit-learn (and scipy for Pearson), to 1e-12.

Checks ROC AUC / average precision per label, micro and macro, on random, tie-heavy, tiny
and degenerate inputs; undefined labels (one class) are null, never 0 or 0.5. Checks the
max-F1 thresholds against a brute-force search scored with precision_recall_fscore_support,
the bootstrap intervals against a line-by-line Python re-implementation of the documented
RNG and resampling, the paired macro-AUC comparison, the CSV error paths (exit 2 with
file:line), and EmoInt Pearson scoring against scipy.stats.pearsonr.
Run by ctest with AFFECT_BIN (the CLI), AFFECT_TOOLS and AFFECT_TEST_TMP set.
"""
import json
import math
import os
import subprocess
import sys
import tempfile
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "oracles"))
from bootstrap_rng import resample_rows  # noqa: E402
from fractions import Fraction

import numpy as np
from scipy.stats import pearsonr
from sklearn.metrics import average_precision_score, precision_recall_fscore_support, roc_auc_score

warnings.simplefilter("ignore")
TOL = 1e-12
BIN = os.environ.get("AFFECT_BIN", "affect")
TOOLS = os.environ.get("AFFECT_TOOLS", "")
TMP = os.environ.get("AFFECT_TEST_TMP") or tempfile.gettempdir()
os.makedirs(TMP, exist_ok=True)
WORK = tempfile.mkdtemp(prefix="metrics-", dir=TMP)
failures = []
checks = 0
max_dev = 0.0


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg)


def close(name, got, want, tol=TOL):
    global checks, max_dev
    checks += 1
    if want is None or (isinstance(want, float) and math.isnan(want)):
        if got is not None:
            fail(f"{name}: expected null (undefined), got {got}")
        return
    if got is not None:
        max_dev = max(max_dev, abs(got - want))
    if got is None or abs(got - want) > tol:
        fail(f"{name}: got {got}, sklearn/reference {want!r}")


def write_csv(path, header, rows, ids=None, id_name="id"):
    with open(path, "w") as f:
        cols = ([id_name] if ids is not None else []) + list(header)
        f.write(",".join(cols) + "\n")
        for i, r in enumerate(rows):
            cells = ([str(ids[i])] if ids is not None else []) + [repr(float(v)) for v in r]
            f.write(",".join(cells) + "\n")


def run_eval(args, expect_rc=0):
    p = subprocess.run([BIN, "eval"] + args, capture_output=True, text=True, timeout=120)
    if p.returncode != expect_rc:
        fail(f"eval {' '.join(args)}: exit {p.returncode}, expected {expect_rc}; stderr: {p.stderr.strip()}")
        return None, p
    if expect_rc == 0 and "--json" in args:
        return json.loads(p.stdout), p
    return None, p


def ref_metrics(P, Y):
    """Per-label reference from sklearn, undefined labels as None, averages over defined."""
    L = Y.shape[1]
    auc, ap = [], []
    for j in range(L):
        y, s = Y[:, j], P[:, j]
        auc.append(roc_auc_score(y, s) if 0 < y.sum() < len(y) else None)
        ap.append(average_precision_score(y, s) if y.sum() > 0 else None)
    yf, sf = Y.ravel(), P.ravel()
    micro_auc = roc_auc_score(yf, sf) if 0 < yf.sum() < len(yf) else None
    micro_ap = average_precision_score(yf, sf) if yf.sum() > 0 else None
    da = [a for a in auc if a is not None]
    dp = [a for a in ap if a is not None]
    return dict(per_label_auc=auc, per_label_ap=ap, micro_auc=micro_auc, micro_ap=micro_ap,
                macro_auc=(sum(da) / len(da)) if da else None,
                macro_ap=(sum(dp) / len(dp)) if dp else None)


def check_case(name, P, Y, labels=None, shuffle_pred_cols=False, ids=False, rng=None):
    n, L = Y.shape
    labels = labels or [f"l{j}" for j in range(L)]
    pcols = list(range(L))
    if shuffle_pred_cols:
        rng.shuffle(pcols)
    idv = [f"r{i}" for i in range(n)] if ids else None
    pp, yp = os.path.join(WORK, name + "_p.csv"), os.path.join(WORK, name + "_y.csv")
    write_csv(pp, [labels[c] for c in pcols], P[:, pcols], idv)
    write_csv(yp, labels, Y, idv, id_name="text_id" if ids else "id")
    out, _ = run_eval(["--predictions", pp, "--labels", yp, "--json", "--bootstrap", "0"])
    if out is None:
        return
    ref = ref_metrics(P, Y)
    if out["label_names"] != labels:
        fail(f"{name}: label_names {out['label_names']} != {labels}")
    for j in range(L):
        close(f"{name} auc[{labels[j]}]", out["per_label_auc"][j], ref["per_label_auc"][j])
        close(f"{name} ap[{labels[j]}]", out["per_label_ap"][j], ref["per_label_ap"][j])
        if out["support"][j] != int(Y[:, j].sum()):
            fail(f"{name}: support[{j}] {out['support'][j]} != {int(Y[:, j].sum())}")
    for k in ("micro_auc", "macro_auc", "micro_ap", "macro_ap"):
        close(f"{name} {k}", out[k], ref[k])
    undefined = [labels[j] for j in range(L) if ref["per_label_auc"][j] is None]
    if out["undefined_labels"] != undefined:
        fail(f"{name}: undefined_labels {out['undefined_labels']} != {undefined}")
    if out["n_rows"] != n:
        fail(f"{name}: n_rows {out['n_rows']} != {n}")
    # sklearn's own averaged forms, where every label is defined, must agree too
    if all(a is not None for a in ref["per_label_auc"]) and L > 1:
        close(f"{name} sklearn average=micro auc", out["micro_auc"], roc_auc_score(Y, P, average="micro"))
        close(f"{name} sklearn average=macro auc", out["macro_auc"], roc_auc_score(Y, P, average="macro"))
        close(f"{name} sklearn average=micro ap", out["micro_ap"], average_precision_score(Y, P, average="micro"))
        close(f"{name} sklearn average=macro ap", out["macro_ap"], average_precision_score(Y, P, average="macro"))


def metric_cases():
    rng = np.random.default_rng(12345)
    # random, with one all-negative and one all-positive label among normal ones
    n, L = 300, 7
    Y = (rng.random((n, L)) < rng.uniform(0.05, 0.6, L)).astype(float)
    Y[:, 2] = 0
    Y[:, 5] = 1
    P = np.clip(0.3 * Y + rng.random((n, L)) * 0.8, 0, 1)
    check_case("random", P, Y, shuffle_pred_cols=True, ids=True, rng=rng)
    # tie-heavy: scores rounded to 1 and 2 decimals
    for dec in (1, 2):
        Y = (rng.random((500, 5)) < 0.3).astype(float)
        P = np.round(np.clip(0.25 * Y + rng.random((500, 5)) * 0.75, 0, 1), dec)
        check_case(f"ties{dec}", P, Y, rng=rng)
    # many identical rows, scores from a tiny set, labels correlated
    Y = (rng.random((1000, 3)) < 0.5).astype(float)
    P = rng.integers(0, 3, (1000, 3)) / 2.0 + 0.1 * Y
    check_case("ties-coarse", P, Y, rng=rng)
    # tiny: 2 rows
    check_case("tiny-2rows", np.array([[0.2, 0.5, 0.9], [0.7, 0.5, 0.1]]), np.array([[0, 1, 1], [1, 0, 1]], float))
    check_case("tiny-1label", np.array([[0.3], [0.3]]), np.array([[1.0], [0.0]]))
    # degenerate: every label one class (everything undefined), all-equal scores, constant labels
    check_case("all-negative", rng.random((20, 3)), np.zeros((20, 3)))
    check_case("all-positive", rng.random((20, 3)), np.ones((20, 3)))
    Y = (rng.random((50, 4)) < 0.4).astype(float)
    Y[0, :] = 1
    Y[1, :] = 0
    check_case("all-equal-scores", np.full((50, 4), 0.5), Y)
    # larger, realistic-looking (GoEmotions-sized label count)
    n, L = 2000, 28
    rate = rng.uniform(0.002, 0.2, L)
    Y = (rng.random((n, L)) < rate).astype(float)
    logits = rng.normal(size=(n, L)) + 2.0 * Y
    P = np.round(1 / (1 + np.exp(-logits)), 3)
    check_case("goemotions-like", P, Y, rng=rng)
    # negative and large scores (decision-function values, not probabilities)
    Y = (rng.random((200, 2)) < 0.5).astype(float)
    check_case("unbounded-scores", rng.normal(size=(200, 2)) * 1e6 + Y, Y)


def best_threshold_ref(s, y):
    """Brute force: every distinct validation score, exact F1 as a fraction, ties -> highest."""
    P = int(y.sum())
    if P == 0:
        return None, 0.0
    best, bt = Fraction(-1), None
    for t in sorted(set(s.tolist()), reverse=True):
        pred = s >= t
        tp = int((pred & (y == 1)).sum())
        fp = int((pred & (y == 0)).sum())
        f = Fraction(2 * tp, 2 * tp + fp + (P - tp))
        if f > best:
            best, bt = f, t
    return bt, float(best)


def threshold_cases():
    rng = np.random.default_rng(777)
    L = 5
    labels = [f"e{j}" for j in range(L)]
    Yv = (rng.random((400, L)) < 0.25).astype(float)
    Yv[:, 3] = 0  # no validation positives: threshold +inf (null), predicts nothing
    Pv = np.round(np.clip(0.3 * Yv + rng.random((400, L)) * 0.7, 0, 1), 2)
    Yt = (rng.random((300, L)) < 0.25).astype(float)
    Pt = np.round(np.clip(0.3 * Yt + rng.random((300, L)) * 0.7, 0, 1), 2)
    paths = {k: os.path.join(WORK, f"thr_{k}.csv") for k in ("vp", "vy", "tp", "ty")}
    write_csv(paths["vp"], labels[::-1], Pv[:, ::-1])  # column order differs on purpose
    write_csv(paths["vy"], labels, Yv)
    write_csv(paths["tp"], labels, Pt)
    write_csv(paths["ty"], labels, Yt)
    out, _ = run_eval(["--predictions", paths["tp"], "--labels", paths["ty"], "--val-predictions", paths["vp"],
                       "--val-labels", paths["vy"], "--json", "--bootstrap", "0"])
    if out is None:
        return
    for j in range(L):
        t, vf1 = best_threshold_ref(Pv[:, j], Yv[:, j])
        if out["thresholds"][j] != t:
            fail(f"threshold[{j}]: got {out['thresholds'][j]}, brute force {t}")
        close(f"val_f1[{j}]", out["val_f1"][j], vf1)
        pred = Pt[:, j] >= (t if t is not None else math.inf)
        p, r, f, _ = precision_recall_fscore_support(Yt[:, j], pred, average="binary", zero_division=0)
        close(f"test precision[{j}]", out["precision"][j], float(p))
        close(f"test recall[{j}]", out["recall"][j], float(r))
        close(f"test f1[{j}]", out["f1"][j], float(f))
    # a hand-made tie: thresholds 0.9 and 0.5 both give F1 = 2/3; the higher one must win
    write_csv(paths["vp"], ["a"], [[0.9], [0.5], [0.5], [0.1]])
    write_csv(paths["vy"], ["a"], [[1], [1], [0], [0]])
    # at t=0.9: tp1 fp0 fn1 -> 2/3 ; at t=0.5: tp2 fp1 fn0 -> 4/5 ... make it a real tie instead
    write_csv(paths["vp"], ["a"], [[0.9], [0.8], [0.5], [0.1]])
    write_csv(paths["vy"], ["a"], [[1], [0], [1], [0]])
    # t=0.9: 2/3 ; t=0.8: 2/4 ; t=0.5: 4/5 ; t=0.1: 4/6 -> best 0.5 (unique); sanity of search
    write_csv(paths["tp"], ["a"], [[0.6], [0.4]])
    write_csv(paths["ty"], ["a"], [[1], [0]])
    out, _ = run_eval(["--predictions", paths["tp"], "--labels", paths["ty"], "--val-predictions", paths["vp"],
                       "--val-labels", paths["vy"], "--json", "--bootstrap", "0"])
    if out and (out["thresholds"] != [0.5] or abs(out["val_f1"][0] - 0.8) > TOL or out["f1"] != [1.0]):
        fail(f"hand threshold case: {out['thresholds']} {out['val_f1']} {out['f1']}")
    write_csv(paths["vp"], ["a"], [[0.9], [0.8], [0.7], [0.6]])
    write_csv(paths["vy"], ["a"], [[1], [0], [0], [1]])
    # t=0.9: tp1 fp0 fn1 -> 2/3 ; t=0.6: tp2 fp2 fn0 -> 4/6 = 2/3 : tie, highest (0.9) wins
    out, _ = run_eval(["--predictions", paths["tp"], "--labels", paths["ty"], "--val-predictions", paths["vp"],
                       "--val-labels", paths["vy"], "--json", "--bootstrap", "0"])
    if out and out["thresholds"] != [0.9]:
        fail(f"F1 tie must pick the highest threshold 0.9, got {out['thresholds']}")


# ---- bootstrap: the documented RNG, re-implemented in tests/oracles/bootstrap_rng.py ----


def ref_bootstrap(P, Y, B, seed, level, P2=None):
    L = Y.shape[1]

    def macro(Pm, Yr, idx):
        vals = [roc_auc_score(Yr[:, j], Pm[idx, j]) for j in range(L) if 0 < Yr[:, j].sum() < len(idx)]
        return sum(vals) / len(vals) if vals else None

    micro, mac, diff = [], [], []
    skipped = 0  # resamples where at least one label had one class and was left out
    for b in range(B):
        idx = resample_rows(seed, b, len(Y))
        Yr = Y[idx]
        skipped += any(not 0 < Yr[:, j].sum() < len(idx) for j in range(L))
        yf = Yr.ravel()
        if 0 < yf.sum() < len(yf):
            micro.append(roc_auc_score(yf, P[idx].ravel()))
        m = macro(P, Yr, idx)
        if m is not None:
            mac.append(m)
            if P2 is not None:
                diff.append(m - macro(P2, Yr, idx))
    q = (1.0 - level) / 2.0

    def iv(v):
        return [float(x) for x in np.quantile(np.array(v), [q, 1.0 - q])] if v else [None, None]

    le0 = (sum(1 for d in diff if d <= 0) / len(diff)) if diff else None
    return iv(micro), iv(mac), len(micro), len(mac), iv(diff), le0, skipped


def bootstrap_cases():
    rng = np.random.default_rng(4242)
    n, L = 150, 4
    Y = (rng.random((n, L)) < [0.4, 0.3, 0.2, 0.0134]).astype(float)
    Y[:2, 3] = 1  # a rare label: 2 positives, so some resamples lose it (and must skip it)
    Y[2:, 3] = 0
    P = np.round(np.clip(0.35 * Y + rng.random((n, L)) * 0.65, 0, 1), 2)
    P2 = np.round(np.clip(0.10 * Y + rng.random((n, L)) * 0.90, 0, 1), 2)
    pp, p2p, yp = (os.path.join(WORK, f"boot_{k}.csv") for k in ("p", "p2", "y"))
    write_csv(pp, [f"b{j}" for j in range(L)], P)
    write_csv(p2p, [f"b{j}" for j in range(L)], P2)
    write_csv(yp, [f"b{j}" for j in range(L)], Y)
    B, seed = 1000, 20240611
    args = ["--predictions", pp, "--labels", yp, "--json", "--bootstrap", str(B), "--seed", str(seed)]
    a, _ = run_eval(args)
    b, _ = run_eval(args)
    c, _ = run_eval(args[:-1] + [str(seed + 1)])
    if not (a and b and c):
        return
    if (a["micro_auc_ci"], a["macro_auc_ci"]) != (b["micro_auc_ci"], b["macro_auc_ci"]):
        fail(f"bootstrap not deterministic: {a['macro_auc_ci']} vs {b['macro_auc_ci']}")
    if a["macro_auc_ci"] == c["macro_auc_ci"]:
        fail("a different seed gave the very same macro interval")
    for k in ("micro_auc", "macro_auc"):
        lo, hi = a[k + "_ci"]
        if not (lo < a[k] < hi):
            fail(f"{k} {a[k]} outside its interval [{lo}, {hi}]")
        if not (hi - lo > 0.01):
            fail(f"{k} interval [{lo}, {hi}] implausibly narrow")
    mi, ma, nmi, nma, dci, le0, skipped = ref_bootstrap(P, Y, B, seed, 0.95, P2)
    if not 50 < skipped < B:
        fail(f"test data should make some resamples lose the rare label (lost in {skipped} of {B})")
    if a["bootstrap"]["micro_used"] != nmi or a["bootstrap"]["macro_used"] != nma:
        fail(f"used resamples {a['bootstrap']} != reference micro {nmi} macro {nma}")
    for j in range(2):
        close(f"micro_auc_ci[{j}] vs Python bootstrap", a["micro_auc_ci"][j], mi[j])
        close(f"macro_auc_ci[{j}] vs Python bootstrap", a["macro_auc_ci"][j], ma[j])
    # paired comparison with a weaker model on the same rows
    d, _ = run_eval(args + ["--compare", p2p])
    if d:
        ref = ref_metrics(P, Y)["macro_auc"] - ref_metrics(P2, Y)["macro_auc"]
        close("compare macro_auc_diff", d["compare"]["macro_auc_diff"], ref)
        for j in range(2):
            close(f"compare diff_ci[{j}] vs Python bootstrap", d["compare"]["macro_auc_diff_ci"][j], dci[j])
        close("compare frac_diff_le0", d["compare"]["frac_diff_le0"], le0)
        if not d["compare"]["macro_auc_diff_ci"][0] > 0:
            fail(f"the clearly better model's difference interval should exclude 0: {d['compare']}")
        if d["macro_auc_ci"] != a["macro_auc_ci"]:
            fail("--compare changed the macro interval of the first model")
    # a dataset where every resample is defined, different level
    e, _ = run_eval(["--predictions", pp, "--labels", yp, "--json", "--bootstrap", "300", "--seed", "7", "--level", "0.9"])
    if e:
        mi, ma, _, _, _, _, _ = ref_bootstrap(P, Y, 300, 7, 0.9)
        for j in range(2):
            close(f"level 0.9 micro_ci[{j}]", e["micro_auc_ci"][j], mi[j])
            close(f"level 0.9 macro_ci[{j}]", e["macro_auc_ci"][j], ma[j])
    z, _ = run_eval(["--predictions", pp, "--labels", yp, "--json", "--bootstrap", "0"])
    if z and (z["micro_auc_ci"] != [None, None] or z["macro_auc_ci"] != [None, None]):
        fail(f"--bootstrap 0 should give null intervals: {z['micro_auc_ci']}")


def error_cases():
    def expect_error(name, pred_text, label_text, needles, extra=()):
        pp, yp = os.path.join(WORK, f"err_{name}_p.csv"), os.path.join(WORK, f"err_{name}_y.csv")
        open(pp, "w").write(pred_text)
        open(yp, "w").write(label_text)
        _, p = run_eval(["--predictions", pp, "--labels", yp, "--json"] + list(extra), expect_rc=2)
        for nd in needles:
            nd = nd.replace("{P}", pp).replace("{Y}", yp)
            if nd not in p.stderr:
                fail(f"error case {name}: stderr {p.stderr.strip()!r} lacks {nd!r}")

    good_y = "a,b\n1,0\n0,1\n"
    expect_error("missing-label", "a,c\n0.1,0.2\n0.3,0.4\n", good_y, ["no column for label 'b'"])
    expect_error("ragged", "a,b\n0.1,0.2\n0.3\n", good_y, ["{P}:3:", "1 fields", "header has 2"])
    expect_error("nan", "a,b\n0.1,0.2\nNaN,0.4\n", good_y, ["{P}:3:", "column 'a' is NaN"])
    expect_error("not-number", "a,b\n0.1,abc\n0.3,0.4\n", good_y, ["{P}:2:", "'abc' is not a number"])
    expect_error("empty-cell", "a,b\n0.1,\n0.3,0.4\n", good_y, ["{P}:2:", "empty cell in column 'b'"])
    expect_error("bad-label", "a,b\n0.1,0.2\n0.3,0.4\n", "a,b\n1,0\n0.5,1\n", ["{Y}:3:", "not 0 or 1"])
    expect_error("rows", "a,b\n0.1,0.2\n", good_y, ["has 1 rows", "has 2"])
    expect_error("ids", "id,a,b\nx,0.1,0.2\ny,0.3,0.4\n", "id,a,b\nx,1,0\nz,0,1\n", ["{P}:3:", "'y'", "'z'"])
    expect_error("quote", 'a,b\n"0.1,0.2\n0.3,0.4\n', good_y, ["{P}:2:", "never closes"])
    expect_error("dup-header", "a,a\n0.1,0.2\n0.3,0.4\n", good_y, ["appears twice"])
    expect_error("empty", "", good_y, ["{P}: empty file"])
    expect_error("inf", "a,b\n0.1,inf\n0.3,0.4\n", good_y, ["{P}:2:", "not finite"])
    # multi-line quoted header names with commas, CRLF, no final newline: accepted
    pp, yp = os.path.join(WORK, "ok_quoted_p.csv"), os.path.join(WORK, "ok_quoted_y.csv")
    open(pp, "w", newline="").write('"x,1","y ""q"""\r\n0.1,0.9\r\n0.8,0.2')
    open(yp, "w", newline="").write('"y ""q""","x,1"\n1,0\n\n0,1\n')
    out, _ = run_eval(["--predictions", pp, "--labels", yp, "--json", "--bootstrap", "0"])
    if out and (out["label_names"] != ['y "q"', "x,1"] or out["per_label_auc"] != [1.0, 1.0]):
        fail(f"quoted CSV: {out}")
    _, p = run_eval(["--predictions", pp], expect_rc=2)
    _, p = run_eval(["--predictions", pp, "--labels", yp, "--bootstrap", "x"], expect_rc=2)
    _, p = run_eval(["--predictions", os.path.join(WORK, "missing.csv"), "--labels", yp], expect_rc=2)
    # the readable table mentions the undefined label
    write_csv(pp, ["a", "b"], [[0.1, 0.2], [0.3, 0.4]])
    write_csv(yp, ["a", "b"], [[1, 0], [0, 0]])
    _, p = run_eval(["--predictions", pp, "--labels", yp, "--bootstrap", "50"])
    if "undefined" not in p.stdout or "macro AUC" not in p.stdout:
        fail(f"table output: {p.stdout!r}")


def emoint_cases():
    tool = os.path.join(TOOLS, "eval_emoint")
    if not os.path.exists(tool):
        fail(f"missing helper {tool}")
        return
    rng = np.random.default_rng(99)
    gold, pred, ref = [], [], {}
    emos = ["anger", "fear", "joy", "sadness", "flat"]
    gid = 10000
    by = {e: ([], []) for e in emos}
    for e in emos:
        for _ in range(int(rng.integers(30, 80))):
            g = round(float(rng.random()), 3)
            p = float(np.clip(g + rng.normal() * 0.2, 0, 1)) if e != "flat" else 0.5
            gold.append(f"{gid}\tsome tweet, with \"quotes\" #{e}\t{e}\t{g}")
            pred.append((gid, f"{gid}\tsome tweet\t{e}\t{p!r}"))
            by[e][0].append(p)
            by[e][1].append(g)
            gid += 1
    rng.shuffle(pred)
    gp, pp = os.path.join(WORK, "emoint_gold.txt"), os.path.join(WORK, "emoint_pred.txt")
    open(gp, "w").write("\n".join(gold) + "\n")
    open(pp, "w").write("\r\n".join(line for _, line in pred))
    p = subprocess.run([tool, gp, pp], capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        fail(f"eval_emoint: exit {p.returncode}: {p.stderr}")
        return
    out = json.loads(p.stdout)
    rs = []
    for e in emos:
        r = None if e == "flat" else float(pearsonr(by[e][0], by[e][1])[0])
        close(f"emoint r[{e}]", out["r"][out["emotions"].index(e)], r)
        if r is not None:
            rs.append(r)
    close("emoint mean_r", out["mean_r"], sum(rs) / len(rs))
    if out["emotions"] != emos:
        fail(f"emoint emotions {out['emotions']}")
    # the real dev-gold files, scored against themselves plus noise, where shared data exists
    shared = os.environ.get("AFFECT_SHARED", "")
    dev = os.path.join(shared, "data", "emoint", "joy-ratings-0to1.dev.gold.txt")
    if os.path.exists(dev):
        lines = [l.split("\t") for l in open(dev, encoding="utf-8").read().splitlines() if l]
        noisy = [(l[0], float(l[3]) + float(rng.normal()) * 0.1) for l in lines]
        pp2 = os.path.join(WORK, "emoint_joy_pred.txt")
        open(pp2, "w").write("".join(f"{i}\t{s!r}\n" for i, s in noisy))
        p = subprocess.run([tool, dev, pp2], capture_output=True, text=True, timeout=60)
        if p.returncode == 0:
            out = json.loads(p.stdout)
            close("emoint joy dev r", out["r"][0], float(pearsonr([s for _, s in noisy], [float(l[3]) for l in lines])[0]))
        else:
            fail(f"eval_emoint on {dev}: {p.stderr}")
    bad = os.path.join(WORK, "emoint_bad.txt")
    open(bad, "w").write("10000\t0.5\n")
    p = subprocess.run([tool, gp, bad], capture_output=True, text=True, timeout=60)
    if p.returncode == 0 or "no prediction for id '10001'" not in p.stderr:
        fail(f"missing prediction should fail naming the id: rc {p.returncode} {p.stderr!r}")


def main():
    metric_cases()
    threshold_cases()
    bootstrap_cases()
    error_cases()
    emoint_cases()
    if failures:
        print(f"{len(failures)} failures ({checks} value checks)")
        sys.exit(1)
    print(f"ok: {checks} values match sklearn/scipy/reference within {TOL} (largest deviation {max_dev:.3g})")


if __name__ == "__main__":
    main()
