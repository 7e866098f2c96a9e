"""The `affect compare --html` report in a real browser: headless Debian Chromium
(/usr/bin/chromium, driven by playwright-core from tests/oracles/node_modules; never a
downloaded browser) opens three synthetic runs x 29 labels (the 28 GoEmotions labels, one of
them undefined, plus a label that is an <img> tag pointing at an https URL, which would show
up as a network request if escaping failed). tests/oracles/report_check.mjs asserts no
console errors, no network requests, exactly runs x labels heatmap cells at 1280 px and at
390 px, and saves screenshots under $AFFECT_TEST_TMP/report-browser/.
Needs: apt-get install chromium (scripts/install-deps.sh) and playwright-core (npm, --ignore-scripts).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_compare  # noqa: E402  (the synthetic run-folder writer)

BIN = os.environ.get("AFFECT_BIN", "affect")
SRC = os.environ.get("AFFECT_SRC") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TMP = os.environ.get("AFFECT_TEST_TMP") or tempfile.gettempdir()
GOEMOTIONS = ["admiration", "amusement", "anger", "annoyance", "approval", "caring", "confusion", "curiosity",
              "desire", "disappointment", "disapproval", "disgust", "embarrassment", "excitement", "fear",
              "gratitude", "grief", "joy", "love", "nervousness", "optimism", "pride", "realization", "relief",
              "remorse", "sadness", "surprise", "neutral"]
CANARY = "<img src=https://example.invalid/leak.png>"


def die(msg):
    print("FAIL:", msg)
    sys.exit(1)


def main():
    check_js = os.path.join(SRC, "tests", "oracles", "report_check.mjs")
    if not os.path.exists("/usr/bin/chromium"):
        die("/usr/bin/chromium is missing: run scripts/install-deps.sh (apt-get install chromium)")
    if not os.path.isdir(os.path.join(SRC, "tests", "oracles", "node_modules", "playwright-core")):
        die("playwright-core is missing: cd tests/oracles && npm install --ignore-scripts")
    if not shutil.which("node"):
        die("node is missing")
    os.makedirs(TMP, exist_ok=True)
    work = tempfile.mkdtemp(prefix="report-browser-", dir=TMP)
    labels = GOEMOTIONS + [CANARY]
    runs = test_compare.standard_runs(work, seed=3, n=300, labels=labels)
    html = os.path.join(work, "report.html")
    p = subprocess.run([BIN, "compare"] + [r["dir"] for r in runs] + ["--html", html, "--bootstrap", "200"],
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        die(f"affect compare failed ({p.returncode}): {p.stderr}")
    n_na = sum(a is None for r in runs for a in r["metrics"]["per_label_auc"])
    shots = os.path.join(TMP, "report-browser")
    q = subprocess.run(["node", check_js, html, shots, str(len(runs)), str(len(labels)), str(n_na)],
                       capture_output=True, text=True, timeout=180)
    print(q.stdout.strip()[:2000])
    if q.returncode != 0:
        print(q.stderr)
        die("report_check.mjs failed")
    m = json.loads(q.stdout.strip().splitlines()[-1])
    print(f"test_report_browser: ok: {m['desktop']['cells']} heatmap cells ({len(runs)} runs x {len(labels)} labels, "
          f"{m['desktop']['na']} n/a) at 1280 and 390 px, no console errors, no network requests; "
          f"screenshots in {shots}")


if __name__ == "__main__":
    main()
