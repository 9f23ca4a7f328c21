"""Many models in one `tecoa evaluate` call, the jobs split across torchrun ranks (gloo, 2 CPU processes) or a submitit
job array (its debug executor, in this process): the result files are those of a single process, byte for byte, except
the fields that record when and how long (`created`, `timings`, each row's `seconds`, each dataset's `load_seconds`)."""
import contextlib, io, json, os, subprocess, sys
from pathlib import Path

BIN = Path(sys.executable).parent
ARGS = ["evaluate", "--model", "tecoa-tiny", "--model", "tecoa-nano", "--suite", "noise", "--attacks", "clean,pgd2",
        "--eps", "1/255,4/255", "--images", "12", "--batch-size", "4", "--quiet"]
N_FILES = 2 * 3          # 2 models x (clean + pgd2 at 2 eps) on one dataset
TIMING = ("created", "timings")

def _main(*args):
    from tecoa_nb.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err): rc = main(list(args))
    return rc, out.getvalue(), err.getvalue()

def _untimed(path: Path) -> str:
    "The file's JSON with the timing fields removed, re-serialised the way the library writes it."
    obj = json.loads(path.read_text())
    for k in TIMING: obj.pop(k)
    for r in obj["rows"]: r.pop("seconds")
    for d in obj["datasets"].values(): d.pop("load_seconds")
    return json.dumps(obj, indent=2)

def _files(out) -> dict:
    out = Path(out)
    return {p.relative_to(out): p for p in sorted(out.rglob("*.json")) if "_submitit" not in p.parts}

def _same_as(ref, other):
    a, b = _files(ref), _files(other)
    assert len(a) == N_FILES and sorted(a) == sorted(b), (sorted(a), sorted(b))
    for k in a:
        assert _untimed(a[k]) == _untimed(b[k]), f"{k} differs from the single-process run"
        assert json.loads(a[k].read_text()).keys() == json.loads(b[k].read_text()).keys()

def test_torchrun_shards_write_the_single_process_files(tmp_path):
    rc, out, err = _main(*ARGS, "--out", str(tmp_path/"one"))
    assert rc == 0, err
    assert out.count("zero-shot accuracy (%)") == 2          # each model's table
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")])}
    torchrun = BIN/"torchrun" if (BIN/"torchrun").exists() else "torchrun"
    tecoa = BIN/"tecoa"
    cmd = [str(torchrun), "--standalone", "--nproc_per_node", "2", str(tecoa), *ARGS, "--out", str(tmp_path/"two")]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "rank 0 of 2: 3 results of 2 models" in r.stdout and "rank 1 of 2: 3 results of 2 models" in r.stdout, r.stdout
    assert (tmp_path/"two"/"leaderboard.md").exists() and r.stdout.count("# Leaderboard") == 1   # rank 0 alone summarises
    assert all(json.loads(p.read_text())["versions"]["threads"] == 1 for p in _files(tmp_path/"one").values())
    _same_as(tmp_path/"one", tmp_path/"two")

def test_submitit_array_writes_the_single_process_files(tmp_path):
    rc, _, err = _main(*ARGS, "--out", str(tmp_path/"one"))
    assert rc == 0, err
    rc, out, err = _main(*ARGS, "--out", str(tmp_path/"array"), "--executor", "submitit", "--cluster", "debug", "--shards", "4")
    assert rc == 0, err
    assert "submitted 4 array tasks" in out and (tmp_path/"array"/"leaderboard.md").exists()
    _same_as(tmp_path/"one", tmp_path/"array")

def test_shards_cover_every_job_once_in_round_robin():
    from tecoa_nb.evaluate_cli import plan_jobs, shard_jobs
    jobs = plan_jobs(["noise"], ["clean", "pgd2"], [1/255, 4/255])
    every = [(i, j) for i in range(2) for j in jobs]
    for world in (1, 2, 4, 7):
        shards = [shard_jobs(2, jobs, r, world) for r in range(world)]
        assert sorted(map(str, (x for s in shards for x in s))) == sorted(map(str, every))
        assert all(shards[r] == every[r::world] for r in range(world))

def test_models_file(tmp_path):
    from tecoa_nb.evaluate_cli import model_list
    f = tmp_path/"models.yaml"
    f.write_text("- tecoa-tiny\n- model: tecoa-nano\n  checkpoint: nano.pt\n")
    assert model_list(["tecoa-tiny"], f) == [{"model": "tecoa-tiny", "pretrained": None, "checkpoint": None},
                                             {"model": "tecoa-nano", "pretrained": None, "checkpoint": "nano.pt"}]
    f.write_text("- tecoa-tiny\n- {model: tecoa-nano, weights: x}\n")
    rc, _, err = _main("evaluate", "--models", str(f), "--suite", "noise", "--out", str(tmp_path/"o"))
    assert rc == 2 and err.startswith("tecoa: error: Entry 2 of") and err.count("\n") == 1, err
    rc, _, err = _main("evaluate", "--model", "tecoa-tiny", "--model", "tecoa-nano", "--pretrained", "x", "--suite", "noise", "--out", str(tmp_path/"o"))
    assert rc == 2 and "--models YAML" in err and err.count("\n") == 1, err
