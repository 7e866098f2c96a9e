#!/usr/bin/python3
"""The data layer against independent readers and a local download server.

1. `affect data info` on the real files in $AFFECT_SHARED/data: row counts and per-label
   positives agree with Python's csv module (Lemotif, RFC 4180) and plain tab splitting
   (GoEmotions, EmoInt).
2. `affect data config` on the three seed configs: they parse and resolve the data; their
   weights are absent from an empty Hugging Face cache, which gives exit 2 and a message
   naming the hub id and `affect pull <id>`; with --no-model the resolved YAML is read back by
   PyYAML with the research team's values (numbers as numbers).
3. `affect data pull` against a python http.server on 127.0.0.1 (AFFECT_DATA_ENDPOINT):
   files land byte-identical and verified; a second pull fetches nothing; a sha256 mismatch
   is an error that leaves no file (and no temporary) behind; an unpinned file is accepted
   and reported as unverified.
"""
import csv
import hashlib
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading

import yaml

BIN = os.environ["AFFECT_BIN"]
SRC = os.environ.get("AFFECT_SRC", os.path.join(os.path.dirname(__file__), ".."))
SHARED = os.environ.get("AFFECT_SHARED", os.path.join(SRC, "..", "shared"))
DATA = os.path.join(SHARED, "data")
TMP = os.path.join(os.environ.get("AFFECT_TEST_TMP", "/tmp"), f"data-{os.getpid()}")

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print(f"FAIL: {what}", file=sys.stderr)
    return cond


def run(args, env=None, cwd=None):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([BIN, *args], capture_output=True, text=True, env=e, cwd=cwd, timeout=300)


def positives_line(out, after):
    """The `positives:` line following the line that starts with `after`, as a dict."""
    lines = out.splitlines()
    for i, l in enumerate(lines):
        if l.startswith(after):
            for m in lines[i + 1:]:
                if m.strip().startswith("positives:"):
                    return {k: int(v) for k, v in re.findall(r"(\S+)=(\d+)", m)}
    return None


def test_info():
    r = run(["data", "info", "--dir", DATA])
    check(r.returncode == 0, f"data info exit {r.returncode}: {r.stderr}")
    out = r.stdout
    # GoEmotions: plain tab splitting, labels.txt
    names = open(os.path.join(DATA, "goemotions", "labels.txt"), encoding="utf-8").read().split()
    counts = {}
    for split in ("train", "dev", "test"):
        with open(os.path.join(DATA, "goemotions", f"{split}.tsv"), encoding="utf-8", newline="") as f:
            rows = [l.rstrip("\n").split("\t") for l in f if l.strip("\r\n")]
        check(all(len(x) == 3 for x in rows), f"goemotions {split}: python sees rows without 3 fields")
        check(f" {split}={len(rows)}" in out, f"goemotions {split}: {len(rows)} rows expected in: {out[:300]}")
        if split == "train":
            for x in rows:
                for i in x[1].split(","):
                    counts[names[int(i)]] = counts.get(names[int(i)], 0) + 1
    got = positives_line(out, "goemotions")
    check(got == {n: counts.get(n, 0) for n in names}, f"goemotions train positives differ: {got} vs {counts}")
    # Lemotif: Python's csv module is the oracle
    with open(os.path.join(DATA, "lemotif", "lemotif.csv"), encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    emo = [(i, h[len("Answer.f1."):-len(".raw")]) for i, h in enumerate(header) if h.startswith("Answer.f1.") and h.endswith(".raw")]
    topics = [h for h in header if h.startswith("Answer.t1.")]
    m = re.search(r"lemotif \(.*\): (\d+) rows, (\d+) emotions, (\d+) topics", out)
    check(m is not None, f"no lemotif line in: {out}")
    if m:
        check(int(m.group(1)) == len(body), f"lemotif rows {m.group(1)} vs python csv {len(body)}")
        check(int(m.group(2)) == len(emo) == 18, f"lemotif emotions {m.group(2)} vs {len(emo)}")
        check(int(m.group(3)) == len(topics) == 11, f"lemotif topics {m.group(3)} vs {len(topics)}")
    want = {name: sum(1 for x in body if x[i].strip().lower() == "true") for i, name in emo}
    got = positives_line(out, "lemotif")
    check(got == want, f"lemotif positives differ: {got} vs {want}")
    m = re.search(r"split .*: train=(\d+) val=(\d+) test=(\d+)", out)
    check(m is not None and sum(map(int, m.groups())) == len(body), f"split sizes do not cover every row: {out}")
    # EmoInt: per emotion counts
    for split in ("train", "dev.gold"):
        per = {}
        for e in ("anger", "fear", "joy", "sadness"):
            with open(os.path.join(DATA, "emoint", f"{e}-ratings-0to1.{split}.txt"), encoding="utf-8", newline="") as f:
                per[e] = sum(1 for l in f if l.strip("\r\n"))
        want = f"{split}={sum(per.values())} (" + ", ".join(f"{e} {n}" for e, n in per.items()) + ")"
        check(want in out, f"emoint {split}: expected '{want}' in: {out}")
    # K-fold report
    r = run(["data", "info", "--dir", DATA, "--folds", "5"])
    m = re.search(r"5-fold split .*?:((?: fold\d=\d+)+)", r.stdout)
    check(m is not None and sum(int(x) for x in re.findall(r"=(\d+)", m.group(1))) == len(body), f"5-fold sizes: {r.stdout}")


def test_configs():
    cache = os.path.join(TMP, "empty-hf-cache")
    os.makedirs(cache, exist_ok=True)
    env = {"HF_HUB_CACHE": cache, "AFFECT_DATA": DATA}
    ids = {"distilbert": "distilbert/distilbert-base-uncased",
           "minilm": "nreimers/MiniLMv2-L12-H384-distilled-from-RoBERTa-Large",
           "tinybert": "huawei-noah/TinyBERT_General_4L_312D"}
    for name, hub_id in ids.items():
        path = os.path.join(SRC, "configs", f"{name}.yaml")
        r = run(["data", "config", path], env=env)
        check(r.returncode == 2, f"{name}: missing weights should exit 2, got {r.returncode}")
        check(f"affect pull {hub_id}" in r.stderr and f"{name}.yaml" in r.stderr,
              f"{name}: error should name the config and `affect pull {hub_id}`: {r.stderr}")
        r = run(["data", "config", path, "--no-model"], env=env)
        check(r.returncode == 0, f"{name} --no-model: exit {r.returncode} {r.stderr}")
        if r.returncode:
            continue
        resolved = yaml.safe_load(r.stdout)
        orig = yaml.safe_load(open(path, encoding="utf-8"))
        check(resolved["model"]["name"] == hub_id, f"{name}: model.name")
        check(resolved["training"]["goemotions"]["learning_rate"] == 3e-5 and
              isinstance(resolved["training"]["goemotions"]["learning_rate"], float),
              f"{name}: learning_rate must come back as the float 3e-5: {resolved['training']['goemotions']}")
        # every value the research file sets comes back (PyYAML reads their '3e-5' as a
        # string, so compare as numbers)
        def walk(a, b, where):
            for k, v in a.items():
                if isinstance(v, dict):
                    walk(v, b.get(k, {}), f"{where}.{k}")
                elif k in b:
                    same = str(v) == str(b[k])
                    try:
                        same = same or float(v) == float(b[k])
                    except (TypeError, ValueError):
                        pass
                    check(same, f"{name}: {where}.{k} = {v!r} came back as {b[k]!r}")
                elif where.endswith(".frozen") or where.endswith(".unfrozen"):
                    pass  # shared value: written under common
                else:
                    check(False, f"{name}: {where}.{k} missing from the resolved config")
        walk(orig, resolved, name)
        check(resolved["training"]["goemotions"]["pos_weight_cap"] == 50.0, f"{name}: our defaults filled in")
        check("data" in resolved and "runtime" in resolved, f"{name}: our sections written")
    # a bad config: the error names file:line and the suggestion
    bad = os.path.join(TMP, "bad.yaml")
    with open(bad, "w") as f:
        f.write("model:\n  name: x\ntraining:\n  goemotions:\n    learning_rat: 3e-5\n")
    r = run(["data", "config", bad, "--no-model"], env=env)
    check(r.returncode == 2 and "bad.yaml:5: unknown key 'learning_rat' in training.goemotions (did you mean 'learning_rate'?)" in r.stderr,
          f"bad config: {r.returncode} {r.stderr}")


class Recorder(http.server.SimpleHTTPRequestHandler):
    requests = []

    def log_message(self, *a):
        pass

    auth = []

    def do_GET(self):
        Recorder.requests.append(self.path)
        if self.headers.get("Authorization"):
            Recorder.auth.append(self.headers.get("Authorization"))
        super().do_GET()


def sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def test_pull():
    root = os.path.join(TMP, "www")
    ge = os.path.join(root, "raw.githubusercontent.com/google-research/google-research/master/goemotions/data")
    os.makedirs(ge, exist_ok=True)
    for f in ("train.tsv", "dev.tsv", "test.tsv"):
        shutil.copy(os.path.join(DATA, "goemotions", f), ge)
    shutil.copy(os.path.join(DATA, "goemotions", "labels.txt"), os.path.join(ge, "emotions.txt"))
    lem = os.path.join(root, "raw.githubusercontent.com/xaliceli/lemotif/master/assets/data")
    os.makedirs(lem, exist_ok=True)
    # the project's copy has rows withheld, so it is NOT the upstream file: sha256 mismatch
    shutil.copy(os.path.join(DATA, "lemotif", "lemotif.csv"), os.path.join(lem, "lemotif-data-cleaned-flat.csv"))
    ei = os.path.join(root, "saifmohammad.com/WebDocs")
    for sub, kind in (("EmoInt Train Data", "train"), ("EmoInt Dev Data With Gold", "dev.gold"), ("EmoInt Test Gold Data", "test.gold")):
        os.makedirs(os.path.join(ei, sub), exist_ok=True)
        for e in ("anger", "fear", "joy", "sadness"):
            dst = os.path.join(ei, sub, f"{e}-ratings-0to1.{kind}.txt")
            if kind == "test.gold":  # no pinned hash: any content is accepted, reported unverified
                with open(dst, "w") as f:
                    f.write(f"1\tfake {e} tweet\t{e}\t0.5\n")
            else:
                shutil.copy(os.path.join(DATA, "emoint", os.path.basename(dst)), dst)

    class Handler(Recorder):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=root, **k)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    env = {"AFFECT_DATA_ENDPOINT": endpoint, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1",
           "HF_TOKEN": "hf_secret_must_not_leak"}
    dest = os.path.join(TMP, "pulled")
    try:
        r = run(["data", "pull", "--dir", dest, "--only", "goemotions,emoint"], env=env)
        check(r.returncode == 0, f"pull goemotions,emoint: exit {r.returncode}: {r.stderr}")
        for f in ("train.tsv", "dev.tsv", "test.tsv", "labels.txt"):
            p = os.path.join(dest, "goemotions", f)
            check(os.path.exists(p) and sha(p) == sha(os.path.join(DATA, "goemotions", f)), f"pulled goemotions/{f} differs")
        for e in ("anger", "fear", "joy", "sadness"):
            for kind in ("train", "dev.gold"):
                p = os.path.join(dest, "emoint", f"{e}-ratings-0to1.{kind}.txt")
                check(os.path.exists(p) and sha(p) == sha(os.path.join(DATA, "emoint", os.path.basename(p))), f"pulled {p} differs")
            check(os.path.exists(os.path.join(dest, "emoint", f"{e}-ratings-0to1.test.gold.txt")), f"{e} test.gold not pulled")
        check(r.stderr.count("sha256 verified") == 12, f"12 verified files expected: {r.stderr}")
        check(r.stderr.count("no pinned sha256") == 4, f"4 unverified files expected: {r.stderr}")
        check(len(Recorder.requests) == 16, f"16 requests expected, saw {len(Recorder.requests)}")
        check(Recorder.auth == [], f"the Hugging Face token was sent to a dataset host: {Recorder.auth}")
        # the pulled folder is a data folder the readers accept
        r2 = run(["data", "info", "--dir", dest])
        check(" train=43410 " in r2.stdout, f"info on the pulled folder: {r2.stdout} {r2.stderr}")
        # again: nothing is fetched
        Recorder.requests.clear()
        r = run(["data", "pull", "--dir", dest, "--only", "goemotions"], env=env)
        check(r.returncode == 0 and r.stderr.count("already present") == 4, f"second pull: {r.stderr}")
        check(Recorder.requests == [], f"second pull fetched {Recorder.requests}")
        # a corrupted local file is fetched again and repaired
        with open(os.path.join(dest, "goemotions", "dev.tsv"), "a") as f:
            f.write("tampered\t0\tx\n")
        r = run(["data", "pull", "--dir", dest, "--only", "goemotions"], env=env)
        check(r.returncode == 0 and sha(os.path.join(dest, "goemotions", "dev.tsv")) == sha(os.path.join(DATA, "goemotions", "dev.tsv")),
              f"tampered dev.tsv not repaired: {r.stderr}")
        # sha256 mismatch: error, and nothing left behind
        r = run(["data", "pull", "--dir", dest, "--only", "lemotif"], env=env)
        check(r.returncode != 0, "a sha256 mismatch must fail")
        check("sha256 mismatch" in r.stderr and "f7b142c8b01d3b031c683ed90585f2fba18b4239da9816b1340a46ac29fee168" in r.stderr
              and sha(os.path.join(DATA, "lemotif", "lemotif.csv")) in r.stderr, f"mismatch message: {r.stderr}")
        left = os.listdir(os.path.join(dest, "lemotif")) if os.path.isdir(os.path.join(dest, "lemotif")) else []
        check(left == [], f"files left after a mismatch: {left}")
        # an unreachable server: a network error, nothing left
        r = run(["data", "pull", "--dir", os.path.join(TMP, "nowhere"), "--only", "lemotif"],
                env={**env, "AFFECT_DATA_ENDPOINT": "http://127.0.0.1:9"})
        check(r.returncode == 1 and "127.0.0.1:9" in r.stderr, f"unreachable server: {r.returncode} {r.stderr}")
        left = []
        for d, _, fs in os.walk(os.path.join(TMP, "nowhere")):
            left += fs
        check(left == [], f"files left after a failed transfer: {left}")
        r = run(["data", "pull", "--dir", dest, "--only", "nosuch"], env=env)
        check(r.returncode == 2 and "unknown dataset 'nosuch'" in r.stderr, f"unknown dataset: {r.stderr}")
    finally:
        server.shutdown()


def main():
    os.makedirs(TMP, exist_ok=True)
    try:
        test_info()
        test_configs()
        test_pull()
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    if failures:
        print(f"test_data: {len(failures)} failure(s)", file=sys.stderr)
        sys.exit(1)
    print("test_data_files.py: ok")


if __name__ == "__main__":
    main()
