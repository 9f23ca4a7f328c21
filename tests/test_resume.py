"""Runs that survive being killed, runs that repeat bitwise, and bad input that gets one sentence, all as a user meets them.

- `tecoa reproduce --profile smoke`, killed with SIGKILL while its second run executes, then rerun: the finished run is kept
  byte for byte, the killed one is redone, and every JSON in the output folder parses at every moment we look.
- Two identical smoke trainings give bitwise-identical weights; two identical evaluations give the same result JSON apart
  from timings and creation times.
- `tecoa evaluate` and `tecoa train` with bad input: exit status 2 and one sentence on stderr, no traceback.
"""
import json, os, signal, subprocess, sys, time
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
import pytest, torch, yaml

ROOT = Path(__file__).resolve().parents[1]

@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    "One TECOA_HOME for this file's tests (the smoke TinyCLIP is pretrained once into it), in pytest's temporary folder."
    return tmp_path_factory.mktemp("tecoa_home")

def _cmd(*args) -> list[str]:
    exe = Path(sys.executable).parent/"tecoa"
    return ([str(exe)] if exe.exists() else [sys.executable, "-m", "tecoa_nb.cli"]) + list(args)

def _env(home) -> dict:
    return os.environ | {"TECOA_HOME": str(home), "TECOA_PROFILE": "smoke", "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}

# --- 2. determinism ---------------------------------------------------------------------------------------------------
TIMING_KEYS = {"created", "timings", "started", "finished", "seconds", "load_seconds", "attack_seconds"}

def _no_timings(o):
    "`o` without its timing and creation fields, at any depth."
    if isinstance(o, dict): return {k: _no_timings(v) for k, v in o.items() if k not in TIMING_KEYS and not k.endswith("_seconds")}
    if isinstance(o, list): return [_no_timings(v) for v in o]
    return o

def test_no_timings_drops_only_timings():
    rec = {"created": "x", "params": {"seed": 0}, "rows": [{"accuracy": 0.5, "seconds": 1.2}], "timings": {"seconds": 3}}
    assert _no_timings(rec) == {"params": {"seed": 0}, "rows": [{"accuracy": 0.5}]}
    assert _no_timings(rec) != _no_timings(rec | {"params": {"seed": 1}})

SMOKE_TRAIN = dict(model="tinyclip", tinyclip_profile="smoke", dataset="world_objects-smoke", adapter="finetune", attack="pgd2",
                   eps="4/255", alpha="2/255", steps=3, batch_size=8, lr=1e-2, warmup_steps=1, ckpt_every=None, seed=5)

def test_smoke_training_is_bitwise_deterministic(tmp_path, home, monkeypatch):
    "`tecoa train`'s library door on the smoke profile's model (the study's TinyCLIP), twice with the same settings."
    monkeypatch.setenv("TECOA_HOME", str(home))
    from tecoa_nb.train_cli import train_settings, train_run
    recs = [train_run(train_settings(SMOKE_TRAIN), tmp_path/f"run{i}", progress=False) for i in (1, 2)]
    a, b = (torch.load(tmp_path/f"run{i}"/"adapter.pt", map_location="cpu")["adapter"] for i in (1, 2))
    assert a.keys() == b.keys() and len(a) > 10
    assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])]
    assert recs[0]["history"] and _no_timings(recs[0]) == _no_timings(recs[1])
    assert _no_timings(json.loads((tmp_path/"run1"/"run.json").read_text())) == _no_timings(json.loads((tmp_path/"run2"/"run.json").read_text()))
    # the training moved the weights, so equal weights are not merely the untouched initialisation
    c = torch.load(tmp_path/"run1"/"adapter.pt", map_location="cpu")["adapter"]
    train_run(train_settings(SMOKE_TRAIN | {"seed": 6}), tmp_path/"run3", progress=False)
    d = torch.load(tmp_path/"run3"/"adapter.pt", map_location="cpu")["adapter"]
    assert any(not torch.equal(c[k], d[k]) for k in c)

def test_random_init_training_is_bitwise_deterministic(tmp_path, home, monkeypatch):
    monkeypatch.setenv("TECOA_HOME", str(home))
    from tecoa_nb.train_cli import train_settings, train_run
    s = train_settings(SMOKE_TRAIN | {"model": "tecoa-tiny", "pretrained": None, "steps": 1})
    for i in (1, 2): train_run(s, tmp_path/f"run{i}", progress=False)
    a, b = (torch.load(tmp_path/f"run{i}"/"adapter.pt", map_location="cpu")["adapter"] for i in (1, 2))
    assert all(torch.equal(a[k], b[k]) for k in a)

def test_evaluation_result_json_is_deterministic(tmp_path, home, monkeypatch):
    "`tecoa evaluate`'s library door on the smoke suite with the study's smoke TinyCLIP, twice from scratch."
    monkeypatch.setenv("TECOA_HOME", str(home)); monkeypatch.setenv("TECOA_PROFILE", "smoke")
    from tecoa_nb.evaluate_cli import load_for_eval, run_evaluation, resolve_suite, parse_eps
    suite = resolve_suite("smoke")[0][:2]
    for i in (1, 2):      # each from scratch: a fresh model and a fresh output folder
        clf, info = load_for_eval("tinyclip")
        run_evaluation(clf, info, suite, ["clean", "pgd5"], parse_eps("2/255"), tmp_path/f"ev{i}", n=8, batch_size=8, progress=False, echo=lambda s: None)
    files = sorted(p.relative_to(tmp_path/"ev1") for p in (tmp_path/"ev1").rglob("*.json"))
    assert len(files) == 2 * len(suite) and files == sorted(p.relative_to(tmp_path/"ev2") for p in (tmp_path/"ev2").rglob("*.json"))
    for f in files:
        one, two = (json.loads((tmp_path/d/f).read_text()) for d in ("ev1", "ev2"))
        assert "created" in one and "timings" in one and one["rows"]
        assert _no_timings(one) == _no_timings(two), f

# --- 1. an interrupted `tecoa reproduce` ------------------------------------------------------------------------------
FIRST, SECOND = "main", "data_size"       # two of the cheapest smoke runs, in manifest order

def _project(tmp_path) -> Path:
    "A project folder in `tmp_path` whose smoke manifest is the repository's, with absolute notebook paths, so every output lands here."
    proj = tmp_path/"proj"; (proj/"nbs").mkdir(parents=True); (proj/"papermill_runs").mkdir()
    m = yaml.safe_load((ROOT/"papermill_runs"/"smoke.yaml").read_text())
    for e in m["runs"] + [m["aggregate"]]: e["notebook"] = str(ROOT/e["notebook"])
    (proj/"papermill_runs"/"smoke.yaml").write_text(yaml.safe_dump(m))
    return proj

def _all_json_parse(out:Path) -> int:
    "Parse every JSON file under `out` (a half-written one fails here); returns how many there are."
    files = [p for p in out.rglob("*.json")] if out.exists() else []
    for p in files:
        try: text = p.read_text()
        except FileNotFoundError: continue            # renamed away between listing and reading: not half-written
        json.loads(text)
    return len(files)

def _started(nb:Path) -> bool:
    "Whether papermill has executed at least one cell of the notebook it is writing at `nb`."
    try: cells = json.loads(nb.read_text())["cells"]
    except (FileNotFoundError, ValueError, KeyError): return False
    return any(c.get("cell_type") == "code" and c.get("execution_count") for c in cells)

def test_half_written_json_is_caught(tmp_path):
    (tmp_path/"a").mkdir(); (tmp_path/"a"/"ok.json").write_text('{"run": {"status": "ok"}}')
    assert _all_json_parse(tmp_path) == 1
    (tmp_path/"a"/"cut.json").write_text('{"run": {"sta')
    with pytest.raises(ValueError): _all_json_parse(tmp_path)
    assert not _started(tmp_path/"none.ipynb")

def test_reproduce_killed_then_rerun(tmp_path, home):
    proj = _project(tmp_path)
    out = proj/"papermill_runs"/"smoke"
    args = _cmd("reproduce", "--profile", "smoke", "--only", FIRST, SECOND, "--jobs", "1")   # strictly in order
    p = subprocess.Popen(args, cwd=proj, env=_env(home), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    t0 = time.time()
    try:
        while not _started(out/".partial"/f"{SECOND}.ipynb"):      # the second run is executing its cells
            assert p.poll() is None, f"reproduce ended (status {p.returncode}) before its second run got going"
            assert time.time() - t0 < 600
            _all_json_parse(out); time.sleep(0.05)
    finally:
        os.killpg(p.pid, signal.SIGKILL); p.wait()              # the whole group: tecoa and the notebook's kernel
    assert _all_json_parse(out) >= 1
    first = {f: f.read_bytes() for f in (out/f"{FIRST}.json", out/f"{FIRST}.ipynb")}
    assert json.loads(first[out/f"{FIRST}.json"])["run"]["status"] == "ok"
    assert not (out/f"{SECOND}.json").exists() and not (out/f"{SECOND}.failed.json").exists()   # killed mid-way: no result
    r = subprocess.run(args, cwd=proj, env=_env(home), capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert f"start {SECOND}" in r.stdout and f"start {FIRST}" not in r.stdout, r.stdout     # only the killed run is redone
    assert all(f.read_bytes() == b for f, b in first.items())                                 # the finished one is kept
    assert json.loads((out/f"{SECOND}.json").read_text())["run"]["status"] == "ok"
    assert _all_json_parse(out) >= 3 and (out/"aggregate.json").exists()
    assert not list((out/".partial").glob("*.json"))

# --- 3. bad input from the command line -------------------------------------------------------------------------------
BAD = {   # name: (arguments, phrases its one sentence must hold)
    "evaluate unknown dataset": (["evaluate", "--model", "tecoa-tiny", "--suite", "cifar11", "--attacks", "clean", "--n", "4"],
                                 ["Unknown dataset 'cifar11'", "did you mean 'cifar10'"]),
    "evaluate unknown attack": (["evaluate", "--model", "tecoa-tiny", "--suite", "smoke", "--attacks", "pdg10", "--n", "4"],
                                ["'pdg10'"]),
    "evaluate eps in /255 units": (["evaluate", "--model", "tecoa-tiny", "--suite", "smoke", "--attacks", "pgd10", "--eps", "4", "--n", "4"],
                                   ["outside [0,1]", "did you mean 4/255"]),
    "evaluate misspelt preset": (["evaluate", "--model", "tecoa-tiny", "--suite", "robustvml", "--attacks", "clean", "--n", "4"],
                                 ["Unknown suite 'robustvml'", "did you mean 'robustvlm'"]),
    "evaluate missing dataset directory": (["evaluate", "--model", "tecoa-tiny", "--suite", "cifar10", "--attacks", "clean", "--n", "4",
                                            "--data", "{tmp}/nowhere"], ["files are not in {tmp}/nowhere", "copy the result here"]),
    "train unknown adapter": (["train", "--config", "{tmp}/run.yaml", "--adapter", "paddding", "--out", "{tmp}/a"],
                              ["Unknown adapter 'paddding'", "did you mean 'padding'"]),
    "train zero steps": (["train", "--config", "{tmp}/run.yaml", "--steps", "0", "--out", "{tmp}/b"], ["0 steps", "pass steps >= 1"]),
    "train negative steps": (["train", "--config", "{tmp}/run.yaml", "--steps", "-3", "--out", "{tmp}/c"], ["-3 steps", "pass steps >= 1"]),
    # before the model loads: ViT-B-32's openai weights are not on this machine, so a check made after the load would
    # be overtaken by the missing-weights sentence; "with progress": the progress bar is on, and must not show first
    "evaluate unknown attack, before the model loads, with progress": (
        ["evaluate", "--model", "ViT-B-32", "--pretrained", "openai", "--suite", "smoke", "--attacks", "pdg10"], ["Unknown attack 'pdg10'"]),
    "evaluate missing dataset directory, before the model loads, with progress": (
        ["evaluate", "--model", "ViT-B-32", "--pretrained", "openai", "--suite", "cifar10", "--attacks", "clean", "--data", "{tmp}/nowhere2"],
        ["files are not in {tmp}/nowhere2"]),
    "train unknown loss, before the model loads": (
        ["train", "--config", "{tmp}/run.yaml", "--model", "ViT-B-32", "--pretrained", "openai", "--loss", "tecao", "--out", "{tmp}/d"],
        ["Unknown loss 'tecao'", "did you mean 'tecoa'"]),
    "train eps in /255 units, before the model loads": (
        ["train", "--config", "{tmp}/run.yaml", "--model", "ViT-B-32", "--pretrained", "openai", "--eps", "4", "--out", "{tmp}/e"],
        ["did you mean 4/255"]),
    "train missing dataset directory, before the model loads, with progress": (
        ["train", "--config", "{tmp}/run.yaml", "--model", "ViT-B-32", "--pretrained", "openai", "--dataset", "cifar10", "--out", "{tmp}/f"],
        ["files are not in"]),
}

@lru_cache(maxsize=None)
def _bad_results(tmp:str, home:str) -> dict:
    "Run every bad command once, two at a time (each is mostly Python start-up): name → CompletedProcess."
    cfg = SMOKE_TRAIN | {"model": "tecoa-tiny", "pretrained": None}   # a random tiny CLIP: nothing to pretrain
    Path(tmp, "run.yaml").write_text(yaml.safe_dump(cfg))
    def one(name):
        args = [a.replace("{tmp}", tmp) for a in BAD[name][0]]
        if args[0] == "evaluate": args += ["--out", f"{tmp}/results"]
        if "with progress" not in name: args += ["--quiet" if args[0] == "evaluate" else "--no-progress"]
        return name, subprocess.run(_cmd(*args), cwd=tmp, env=_env(home), capture_output=True, text=True, timeout=600)
    with ThreadPoolExecutor(2) as ex: return dict(ex.map(one, BAD))

@pytest.fixture(scope="module")
def bad(tmp_path_factory, home):
    tmp = str(tmp_path_factory.mktemp("bad"))
    return lambda name: (_bad_results(tmp, str(home))[name], tmp)

def _sentence(r) -> str:
    "The one line a bad command prints: exit status 2, `tecoa: error: ` and a sentence, no traceback and nothing else."
    assert r.returncode == 2, (r.returncode, r.stdout[-1000:], r.stderr[-2000:])
    err = r.stderr.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1 and err.startswith("tecoa: error: ") and err.endswith((".", "?")), err
    return err

@pytest.mark.parametrize("name", list(BAD))
def test_bad_input_is_one_sentence(bad, name):
    r, tmp = bad(name)
    err = _sentence(r)
    for s in BAD[name][1]: assert s.replace("{tmp}", tmp) in err, err
    assert not list(Path(tmp).glob("**/adapter.pt"))         # nothing was trained

def test_eps_in_255_units_gets_did_you_mean(bad):
    assert "did you mean 4/255" in _sentence(bad("evaluate eps in /255 units")[0])

def test_unknown_attack_gets_did_you_mean(bad):
    assert "did you mean 'pgd10'" in _sentence(bad("evaluate unknown attack")[0])
