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
