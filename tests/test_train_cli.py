"`tecoa train` as a user runs it, in subprocesses: one run, a run killed with SIGKILL and resumed, and two DDP processes."
import json, os, signal, subprocess, sys, time
from pathlib import Path
import torch, yaml
from tecoa_nb.world import ADAPT_NAME
ROOT = Path(__file__).resolve().parents[1]

SMOKE = dict(model="tinyclip", tinyclip_profile="smoke", dataset=ADAPT_NAME + "-smoke", attack="pgd2", eps="4/255", alpha="4/255",
             epochs=None, batch_size=16, optimizer="sgd", lr=1e-2, warmup_steps=2, seed=3)

def _cmd() -> list[str]:
    exe = Path(sys.executable).parent/"tecoa"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "tecoa_nb.cli"]

def _config(tmp_path, **kw) -> str:
    p = tmp_path/"run.yaml"; p.write_text(yaml.safe_dump(SMOKE | kw)); return str(p)

def _train(*args, timeout=600):
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    r = subprocess.run(_cmd() + ["train", "--no-progress", *args], capture_output=True, text=True, timeout=timeout, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    return r

def _adapter(run_dir) -> dict: return torch.load(Path(run_dir)/"adapter.pt", map_location="cpu")["adapter"]
def _history(run_dir) -> list: return json.loads((Path(run_dir)/"run.json").read_text())["history"]

def test_train_writes_adapter_and_run_json(tmp_path):
    r = _train("--config", _config(tmp_path, steps=3), "--out", str(tmp_path/"run"))
    rec = json.loads((tmp_path/"run"/"run.json").read_text())
    assert rec["steps"] == 3 and [h["step"] for h in rec["history"]] == [1, 2, 3] and rec["settings"]["dataset"] == ADAPT_NAME + "-smoke"
    assert rec["seed"] == 3 and "torch" in rec["versions"] and rec["timings"]["seconds"] > 0 and "commit" in rec
    assert (tmp_path/"run"/"last.pt").exists() and "adapter.pt" in r.stdout
    bad = subprocess.run(_cmd() + ["train", "--config", _config(tmp_path, steps=3), "--out", str(tmp_path/"run")], capture_output=True, text=True)
    assert bad.returncode == 2 and "--resume" in bad.stderr          # an existing run is never overwritten silently

def test_sigkill_then_resume_is_bitwise(tmp_path):
    cfg = _config(tmp_path, steps=60, ckpt_every=5)
    _train("--config", cfg, "--out", str(tmp_path/"straight"))
    killed = tmp_path/"killed"
    p = subprocess.Popen(_cmd() + ["train", "--no-progress", "--config", cfg, "--out", str(killed)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ | {"OMP_NUM_THREADS": "1"})
    t0 = time.time()
    while not (killed/"last.pt").exists():
        assert p.poll() is None and time.time() - t0 < 300, "the run ended before its first checkpoint"
        time.sleep(0.01)
    p.send_signal(signal.SIGKILL); p.wait()
    at = torch.load(killed/"last.pt", map_location="cpu", weights_only=False)["step"]
    assert 0 < at < 60 and not (killed/"adapter.pt").exists()       # killed mid-way
    _train("--config", cfg, "--out", str(killed), "--resume")
    a, b = _adapter(tmp_path/"straight"), _adapter(killed)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert _history(killed) == _history(tmp_path/"straight")

def test_torchrun_two_processes_match_one(tmp_path):
    cfg = _config(tmp_path, steps=3, random_start=False)
    _train("--config", cfg, "--out", str(tmp_path/"one"))
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    exe = Path(sys.executable).parent/"tecoa"                           # torchrun runs the installed console script in each process
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(exe),
                        "train", "--no-progress", "--config", cfg, "--out", str(tmp_path/"two")], capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    two = json.loads((tmp_path/"two"/"run.json").read_text())
    assert two["world_size"] == 2 and r.stdout.count("trained ") == 1        # rank 0 alone writes and reports
    one = _history(tmp_path/"one")
    assert all(abs(a["loss"] - b["loss"]) <= 1e-5 * abs(b["loss"]) for a, b in zip(two["history"], one)) and len(one) == 3

import pytest

@pytest.mark.parametrize("loss", ["tga_zsr", "agft"])
def test_train_reference_losses_tga_zsr_agft(tmp_path, loss):
    "The two losses that need the frozen original model train for 2 steps through the CLI and write their outputs."
    out = tmp_path/loss
    r = _train("--config", _config(tmp_path, steps=2, loss=loss), "--out", str(out))
    rec = json.loads((out/"run.json").read_text())
    assert rec["steps"] == 2 and rec["settings"]["loss"] == loss and len(rec["history"]) == 2
    assert all(h["loss"] == h["loss"] and abs(h["loss"]) < float("inf") for h in rec["history"])   # finite, not NaN
    assert (out/"adapter.pt").exists() and (out/"last.pt").exists() and f"with {loss}" in r.stdout

@pytest.mark.parametrize("path", sorted((ROOT/"configs").glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_configs_are_valid(path):
    "Every config file in configs/ names known settings, a known loss, adapter, attack and dataset (checked before any load)."
    from tecoa_nb.train_cli import train_settings, check_settings
    s = train_settings(path)
    check_settings(s)
    assert s.loss in path.stem or s.loss == "tecoa"

# -- what a new user runs into: each mistake costs one sentence before any work ------------------------------------
import shlex
from tecoa_nb.cli import main

def _no_work(monkeypatch):
    "Loading the training data (the first real work) fails the test: the mistake must be caught before it."
    import tecoa_nb.train_cli as tc
    def boom(*a, **k): raise AssertionError("the run did work before refusing")
    monkeypatch.setattr(tc, "load_dataset", boom)

def _refused(capsys, *args) -> str:
    "Run `tecoa train ...` in this process, expect exit 2, return its one-sentence error."
    rc = main(["train", "--no-progress", *args])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith("tecoa: error:") and len(err.splitlines()) == 1, (rc, err)
    return err

def test_tinyclip_checkpoint_is_loaded(tmp_path):
    "--checkpoint on the study's TinyCLIP loads those weights (it used to train the shipped ones and record the file as loaded)."
    from tecoa_nb.pretrain import load_tinyclip
    from tecoa_nb.study import study_config
    from tecoa_nb.train_cli import train_settings, build_run
    sd = load_tinyclip(**study_config("smoke").pretrain).model.state_dict()
    sd = {k: v * 1.5 if k.startswith("visual.") and v.is_floating_point() else v for k, v in sd.items()}
    torch.save(sd, tmp_path/"w.pt")
    clf, *_ = build_run(train_settings(SMOKE, steps=1, checkpoint=str(tmp_path/"w.pt")))
    mine = clf.clip.state_dict()
    assert all(torch.equal(mine[k], sd[k]) for k in sd if k.startswith("visual."))

@pytest.mark.parametrize("what", ["missing", "garbage", "adapter"])
def test_bad_checkpoint_is_refused_before_work(tmp_path, monkeypatch, capsys, what):
    ck = tmp_path/"w.pt"
    if what == "garbage": ck.write_bytes(b"not a checkpoint")
    if what == "adapter": torch.save({"adapter": {"visual.conv1.weight": torch.zeros(1)}}, ck)
    _no_work(monkeypatch)
    err = _refused(capsys, "--config", _config(tmp_path, steps=1), "--out", str(tmp_path/"run"), "--checkpoint", str(ck))
    assert str(ck) in err and not (tmp_path/"run"/"run.json").exists()

def test_resume_with_nothing_to_resume_is_refused(tmp_path, monkeypatch, capsys):
    _no_work(monkeypatch)
    (tmp_path/"empty").mkdir()
    for out in ("empty", "absent"):
        err = _refused(capsys, "--config", _config(tmp_path, steps=1), "--out", str(tmp_path/out), "--resume")
        assert "drop --resume" in err and not (tmp_path/out/"run.json").exists()

def test_out_that_cannot_be_written_is_refused_before_work(tmp_path, monkeypatch, capsys):
    (tmp_path/"somefile").write_text("x")
    _no_work(monkeypatch)
    err = _refused(capsys, "--config", _config(tmp_path, steps=1), "--out", str(tmp_path/"somefile"/"run"))
    assert "somefile" in err and "--out" in err

def test_unknown_model_suggests_the_closest_name(tmp_path, monkeypatch, capsys):
    _no_work(monkeypatch)
    err = _refused(capsys, "--config", _config(tmp_path, steps=1), "--out", str(tmp_path/"run"), "--model", "tinyclp")
    assert "did you mean 'tinyclip'" in err
    import tecoa_nb.data                                               # `tecoa evaluate` resolves names the same way, before loading data
    monkeypatch.setattr(tecoa_nb.data, "load_dataset", lambda *a, **k: (_ for _ in ()).throw(AssertionError("work done")))
    assert main(["evaluate", "--model", "tinyclp", "--suite", "smoke", "--out", str(tmp_path/"ev")]) == 2
    assert "did you mean 'tinyclip'" in capsys.readouterr().err

def test_help_explains_every_option():
    "`tecoa train --help`: every option has a help text (the settings' comments) and the epilog shows examples that run."
    from tecoa_nb.cli import build_parser, _load_commands
    _load_commands()
    p = build_parser()._subparsers._group_actions[0].choices["train"]
    bare = [a.dest for a in p._actions if not (a.help or "").strip()]
    assert not bare, f"options without help: {bare}"
    assert "examples" in (p.epilog or "") and "radius" in p.format_help()

def test_help_example_runs(tmp_path):
    "The TinyCLIP example of the epilog trains as written (with 2 steps)."
    from tecoa_nb.cli import build_parser, _load_commands
    _load_commands()
    ep = build_parser()._subparsers._group_actions[0].choices["train"].epilog
    line = next(l for l in ep.splitlines() if "--model tinyclip" in l)
    argv = shlex.split(line.strip())[1:]
    argv[argv.index("--steps") + 1] = "2"; argv[argv.index("--out") + 1] = str(tmp_path/"ex")
    assert main([*argv, "--no-progress"]) == 0 and json.loads((tmp_path/"ex"/"run.json").read_text())["steps"] == 2

def test_accuracies_are_percentages(tmp_path):
    "Training shows and records accuracy in %, as evaluation does: progress bar, final line, run.json."
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    r = subprocess.run(_cmd() + ["train", "--config", _config(tmp_path, steps=2), "--out", str(tmp_path/"run")],
                       capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    rec = json.loads((tmp_path/"run"/"run.json").read_text())
    for h in [*rec["history"], rec["final"]]:
        assert "robust_acc" not in h and 0 <= h["robust_acc_%"] <= 100
        assert abs(h["robust_acc_%"] * 16 / 100 - round(h["robust_acc_%"] * 16 / 100)) < 1e-9     # k of a batch of 16, in %
    assert "%" in r.stdout.split("robust batch accuracy")[1].split(";")[0]
    assert "rob=" in r.stderr and r.stderr.split("rob=")[-1].split("]")[0].rstrip().endswith("%")

def test_log_lines_show_percentages(tmp_path):
    import logging
    from tecoa_nb.train import train
    from tecoa_nb.train_cli import train_settings, build_run
    clf, ad, loss, data, attack = build_run(train_settings(SMOKE, steps=1))
    lines = []
    h = logging.Handler(); h.emit = lambda r: lines.append(r.__dict__.get("kv", {}))
    lg = logging.getLogger("tecoa_nb.train"); lg.addHandler(h)
    try: train(clf, ad, loss, data, attack=attack, steps=1, batch_size=16, lr=1e-3, warmup_steps=0, progress=False, log_every=1)
    finally: lg.removeHandler(h)
    step = [kv for kv in lines if "loss" in kv]
    assert step and all("robust_acc" not in kv and 0 <= kv["robust_acc_%"] <= 100 for kv in step)

def _resume_line(err:str) -> list[str]:
    "The command in the one line a Ctrl-C prints (after the run's own log lines), with no traceback."
    last = err.strip().splitlines()[-1]
    assert "Traceback" not in err and "KeyboardInterrupt" not in err and last.startswith("tecoa: training interrupted"), err
    return shlex.split(last.split("continue with: ")[1])

def test_ctrl_c_says_how_to_resume(tmp_path):
    "SIGINT mid-run: one line with the last checkpoint's step and the command that continues it; exit 130; that command finishes the run."
    cfg, out = _config(tmp_path, steps=40, ckpt_every=5), tmp_path/"run"
    p = subprocess.Popen(_cmd() + ["train", "--no-progress", "--config", cfg, "--out", str(out)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=os.environ | {"OMP_NUM_THREADS": "1"})
    t0 = time.time()
    while not (out/"last.pt").exists():
        assert p.poll() is None and time.time() - t0 < 300, "the run ended before its first checkpoint"
        time.sleep(0.01)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130, err[-3000:]
    at = torch.load(out/"last.pt", map_location="cpu", weights_only=False)["step"]
    assert f"step {at}" in err and 0 < at < 40
    argv = _resume_line(err)
    assert argv[:2] == ["tecoa", "train"] and "--resume" in argv
    _train(*[a for a in argv[2:] if a != "--no-progress"])
    rec = json.loads((out/"run.json").read_text())
    assert rec["steps"] == 40 and rec["resumed"] is True

def test_ctrl_c_before_first_checkpoint(tmp_path, monkeypatch, capsys):
    import tecoa_nb.train_cli as tc
    def interrupted(*a, **k): raise KeyboardInterrupt
    monkeypatch.setattr(tc, "train", interrupted)
    try: rc = main(["train", "--no-progress", "--config", _config(tmp_path, steps=2), "--out", str(tmp_path/"run")])
    except KeyboardInterrupt: pytest.fail("Ctrl-C came out of `tecoa train` as a traceback")
    assert rc == 130
    err = capsys.readouterr().err.strip()
    last = err.splitlines()[-1]
    assert last.startswith("tecoa: training interrupted") and "no checkpoint" in last and "Traceback" not in err
    argv = shlex.split(last.split("start again with: ")[1])
    assert argv[:2] == ["tecoa", "train"] and "--resume" not in argv     # nothing to resume: the same command starts again
