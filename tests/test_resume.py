#!/usr/bin/env python3
"""Resume and signals of `affect train` (training-engine issue):

  1. kill -9 in the middle of an epoch, then `--resume`: final_model/model.safetensors and
     predictions.csv are byte-identical to an uninterrupted run with the same seed and threads,
     and train_log.jsonl holds the same lines (timings aside);
  2. SIGTERM: exit 143 with a checkpoint of the interrupted stage written (its state names the
     stage and a mid-epoch position), and `--resume` again ends identical;
     SIGINT: exit 130;
  3. a non-finite loss (AFFECT_TEST_NAN_AT_STEP) stops the run with exit 1 and a message naming
     the step, keeping the last good checkpoint.

AFFECT_TEST_SLEEP_MS slows every optimizer step so the kills land mid-epoch reliably.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

BIN = os.environ.get("AFFECT_BIN", "build/affect")
SRC = os.environ.get("AFFECT_SRC", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("AFFECT_SHARED", os.path.join(SRC, "..", "shared"))
TMP = os.path.join(os.environ.get("AFFECT_TEST_TMP", "/tmp"), "test_resume")

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
    e["AFFECT_DATA"] = os.path.join(SHARED, "data")
    e.update(extra)
    return e


MLM_STAGE = "training:\n  pretrain_mlm:\n    enabled: true\n    learning_rate: 1e-3\n    train_batch_size: 16\n    num_epochs: 1\n"


def config(name, mlm=False, soup=False):
    text = open(os.path.join(SRC, "configs", "tiny.yaml")).read()
    text = text.replace("artifacts/experiments/tiny", os.path.join(TMP, name))
    if mlm:
        text = text.replace("training:\n", MLM_STAGE, 1)
    if soup:
        text = text.replace("  lemotif:\n", "  lemotif:\n    soup: 2\n", 1)
    path = os.path.join(TMP, name + ".yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


def train(cfg, *args, timeout=90, **extra):
    return subprocess.run([BIN, "train", cfg, *args], cwd=TMP, env=env(**extra), capture_output=True, text=True,
                          timeout=timeout)


def log_lines(run):
    out = []
    for l in open(os.path.join(TMP, run, "train_log.jsonl")):
        d = json.loads(l)
        d.pop("seq_per_s", None)
        d.pop("elapsed_s", None)
        out.append(d)
    return out


def wait_for(pred, timeout=60):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if pred():
            return True
        time.sleep(0.02)
    return False


def logged_steps(run, stage):
    path = os.path.join(TMP, run, "train_log.jsonl")
    try:
        lines = open(path).read().splitlines()
    except FileNotFoundError:
        return 0
    best = 0
    for l in lines:
        try:
            d = json.loads(l)
        except ValueError:
            continue
        if d.get("type") == "train" and d.get("stage") == stage:
            best = max(best, d["step"])
    return best


def same_as_reference(run, what, ref="ref"):
    for f in ["final_model/model.safetensors", "predictions.csv", "labels.csv"]:
        a = open(os.path.join(TMP, ref, f), "rb").read()
        b = open(os.path.join(TMP, run, f), "rb").read()
        check(a == b, f"{what}: {f} differs from the uninterrupted run")
    check(log_lines(ref) == log_lines(run), f"{what}: train_log.jsonl differs from the uninterrupted run")


def kill_mid_stage(run, stage, cfg):
    """Starts `affect train cfg` slowed down, kills it with SIGKILL once `stage` has logged
    step 6 (after its step-4 checkpoint); True when it got that far."""
    proc = subprocess.Popen([BIN, "train", cfg], cwd=TMP, env=env(AFFECT_TEST_SLEEP_MS="40"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ok = wait_for(lambda: logged_steps(run, stage) >= 6)
    proc.kill()
    proc.wait()
    check(ok, f"the killed run never reached {stage} step 6")
    check(proc.returncode == -signal.SIGKILL, f"kill -9: returncode {proc.returncode}")
    return ok


def main():
    shutil.rmtree(TMP, ignore_errors=True)
    os.makedirs(TMP)
    p = train(config("ref"))
    if not check(p.returncode == 0, f"reference run: exit {p.returncode} {p.stderr[-1500:]}"):
        return

    # 1. kill -9 in mid-epoch of lemotif.frozen (after its step-4 checkpoint), then --resume
    cfg = config("killed")
    kill_mid_stage("killed", "lemotif.frozen", cfg)
    check(not os.path.exists(os.path.join(TMP, "killed", "final_model")), "killed run finished before the kill")
    state = json.load(open(os.path.join(TMP, "killed", "lemotif.frozen", "last", "trainer_state.json")))
    ex = state.get("extra", {})
    check(ex.get("stage") == "lemotif.frozen" and ex.get("batch", 0) > 0, f"mid-epoch checkpoint state: {ex}")
    p = train(cfg, "--resume")
    check(p.returncode == 0, f"--resume after kill -9: exit {p.returncode} {p.stderr[-1500:]}")
    check("resuming at epoch 1" in p.stderr, "resume did not report its position")
    if p.returncode == 0:
        same_as_reference("killed", "kill -9 + --resume")

    # 2. SIGTERM during goemotions: exit 143, checkpoint written at once
    cfg = config("termed")
    proc = subprocess.Popen([BIN, "train", cfg], cwd=TMP, env=env(AFFECT_TEST_SLEEP_MS="40"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    ok = wait_for(lambda: logged_steps("termed", "goemotions") >= 6)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    check(ok, "the SIGTERM run never reached goemotions step 6")
    check(proc.returncode == 143, f"SIGTERM: exit {proc.returncode}, want 143 ({err[-500:]})")
    check("--resume" in err, "SIGTERM: no hint to resume")
    st = os.path.join(TMP, "termed", "goemotions", "last", "trainer_state.json")
    if check(os.path.isfile(st), "SIGTERM: no checkpoint in goemotions/last"):
        ex = json.load(open(st)).get("extra", {})
        check(ex.get("stage") == "goemotions" and ex.get("epoch") == 0 and ex.get("batch", 0) >= 6,
              f"SIGTERM checkpoint is not at the interrupted step: {ex}")
        check(json.load(open(st)).get("optimizer_step") == ex.get("batch"),
              "SIGTERM checkpoint's optimizer step does not match its position")
    p = train(cfg, "--resume")
    check(p.returncode == 0, f"--resume after SIGTERM: exit {p.returncode} {p.stderr[-1500:]}")
    if p.returncode == 0:
        same_as_reference("termed", "SIGTERM + --resume")

    # SIGINT: 130
    cfg = config("inted")
    proc = subprocess.Popen([BIN, "train", cfg], cwd=TMP, env=env(AFFECT_TEST_SLEEP_MS="40"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: logged_steps("inted", "goemotions") >= 2)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    check(proc.returncode == 130, f"SIGINT: exit {proc.returncode}, want 130")

    # resuming with different settings is refused (it would mix two runs)
    changed = os.path.join(TMP, "changed.yaml")
    with open(changed, "w") as f:
        f.write(open(config("killed")).read().replace("max_rows: 240", "max_rows: 250"))
    p = train(changed, "--resume")
    check(p.returncode == 2 and "config differs" in p.stderr, f"changed config on --resume: {p.returncode} {p.stderr[-300:]}")

    # 4. kill -9 in mid-epoch of the masked-LM stage (stage 0), then --resume: the masking is
    # a pure function of (seed, micro-batch), so the resumed run must match to the byte
    p = train(config("mlm_ref", mlm=True))
    if check(p.returncode == 0, f"masked-LM reference run: exit {p.returncode} {p.stderr[-1500:]}"):
        check("pretrain_mlm epoch 1/1: validation masked-LM loss" in p.stderr, "no masked-LM evaluation reported")
        cfg = config("mlm_killed", mlm=True)
        kill_mid_stage("mlm_killed", "pretrain_mlm", cfg)
        st = os.path.join(TMP, "mlm_killed", "pretrain_mlm", "last", "trainer_state.json")
        if check(os.path.isfile(st), "no mid-epoch checkpoint in pretrain_mlm/last"):
            ex = json.load(open(st)).get("extra", {})
            check(ex.get("stage") == "pretrain_mlm" and ex.get("epoch") == 0 and ex.get("batch", 0) > 0,
                  f"masked-LM checkpoint state: {ex}")
        p = train(cfg, "--resume")
        check(p.returncode == 0, f"--resume in the masked-LM stage: exit {p.returncode} {p.stderr[-1500:]}")
        if p.returncode == 0:
            same_as_reference("mlm_killed", "kill -9 in pretrain_mlm + --resume", ref="mlm_ref")

    # 5. kill -9 inside the second member of a soup (training.lemotif.soup: 2), then --resume:
    # the first member is reloaded from its finished stages and the average is the same
    p = train(config("soup_ref", soup=True))
    if check(p.returncode == 0, f"soup reference run: exit {p.returncode} {p.stderr[-1500:]}"):
        cfg = config("soup_killed", soup=True)
        if kill_mid_stage("soup_killed", "soup/1/lemotif.frozen", cfg):
            check(os.path.isfile(os.path.join(TMP, "soup_killed", "lemotif.unfrozen", "done.json")) and
                  not os.path.isfile(os.path.join(TMP, "soup_killed", "soup", "1", "lemotif.frozen", "done.json")),
                  "the kill did not land inside the second soup member")
            p = train(cfg, "--resume")
            check(p.returncode == 0, f"--resume in a soup member: exit {p.returncode} {p.stderr[-1500:]}")
            if p.returncode == 0:
                same_as_reference("soup_killed", "kill -9 in soup member 2 + --resume", ref="soup_ref")

    # 3. divergence: exit 1, the step named, the last good checkpoint kept
    cfg = config("nan")
    p = train(cfg, AFFECT_TEST_NAN_AT_STEP="22")
    check(p.returncode == 1, f"NaN loss: exit {p.returncode}, want 1")
    check("step 7" in p.stderr and "not finite" in p.stderr and "last good checkpoint" in p.stderr,
          f"NaN message: {p.stderr[-600:]!r}")
    st = os.path.join(TMP, "nan", "lemotif.frozen", "last", "trainer_state.json")
    if check(os.path.isfile(st), "NaN: last good checkpoint missing"):
        ex = json.load(open(st))["extra"]
        check(ex["batch"] == 8, f"NaN: the kept checkpoint is not the step-4 one: {ex}")
    check(not os.path.exists(os.path.join(TMP, "nan", "final_model")), "NaN run still exported a model")
    # and it resumes from that checkpoint without the poison
    p = train(cfg, "--resume")
    check(p.returncode == 0, f"--resume after NaN: exit {p.returncode} {p.stderr[-800:]}")
    if p.returncode == 0:
        same_as_reference("nan", "NaN stop + --resume")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:
        import traceback
        traceback.print_exc()
        fail(f"exception: {e}")
    if failures:
        print(f"{len(failures)} failure(s)")
        sys.exit(1)
    print("test_resume: all checks passed")
