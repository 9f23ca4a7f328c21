"Bad input gets one sentence (exit status 2 from the command line, no traceback); a failing run in `tecoa reproduce` is isolated."
import json, subprocess, sys
from pathlib import Path
import pytest
import torch
from tecoa_nb.core import TecoaError, atomic_torch_save

ROOT = Path(__file__).resolve().parents[1]

def _tecoa(*args, **kw):
    exe = Path(sys.executable).parent/"tecoa"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "tecoa_nb.cli"]
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=600, **kw)

def _one_sentence(r, *says):
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    err = r.stderr.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1 and err.startswith("tecoa: error: "), err
    for s in says: assert s in err, err
    return err

# --- from the command line -------------------------------------------------------------------------------------------
def test_cli_unknown_profile():
    _one_sentence(_tecoa("reproduce", "--profile", "smok", "--dry-run"), "Unknown profile 'smok'", "did you mean 'smoke'")

@pytest.mark.parametrize("jobs", ["0", "-2"])
def test_cli_non_positive_jobs(jobs):
    _one_sentence(_tecoa("reproduce", "--profile", "smoke", "--jobs", jobs, "--dry-run"), "--jobs must be a positive integer")

def _manifest(tmp_path, params):
    (tmp_path/"papermill_runs").mkdir(); (tmp_path/"nbs").mkdir()
    m = {"profile": "bad", "runs": [{"id": "main", "notebook": str(ROOT/"nbs/studies/01_main_results.ipynb"), "parameters": params}]}
    p = tmp_path/"papermill_runs"/"bad.yaml"; p.write_text(json.dumps(m)); return p

def test_cli_manifest_unknown_parameter(tmp_path):
    _one_sentence(_tecoa("reproduce", "--profile", str(_manifest(tmp_path, {"sede": 1})), "--dry-run"),
                  "unknown parameter(s) sede", "did you mean 'seed'")

def test_cli_manifest_wrong_type(tmp_path):
    _one_sentence(_tecoa("reproduce", "--profile", str(_manifest(tmp_path, {"seed": "zero"})), "--dry-run"),
                  "seed='zero' (str)", "expects a int")

# --- the same sentences from the library (the verbs that take these inputs call these functions) ----------------------
@pytest.mark.parametrize("call, says", [
    (lambda: __import__("tecoa_nb.data", fromlist=["x"]).get_dataset("cifar11"), "did you mean 'cifar10'"),
    (lambda: __import__("tecoa_nb.models", fromlist=["x"]).load_clip("tecoa-tinny"), "did you mean 'tecoa-tiny'"),
    (lambda: __import__("tecoa_nb.adapters", fromlist=["x"]).make_adapter("paddding"), "did you mean 'padding'"),
    (lambda: __import__("tecoa_nb.losses", fromlist=["x"]).make_loss("tecao"), "did you mean 'tecoa'"),
    (lambda: __import__("tecoa_nb.attacks", fromlist=["x"]).AttackSpec("pdg"), "did you mean 'pgd'"),
    (lambda: __import__("tecoa_nb.attacks", fromlist=["x"]).parse_eps("4"), "did you mean 4/255"),
    (lambda: __import__("tecoa_nb.attacks", fromlist=["x"]).parse_eps("-1/255"), ">= 0"),
    (lambda: __import__("tecoa_nb.attacks", fromlist=["x"]).parse_eps("2"), "did you mean 2/255"),
    (lambda: __import__("tecoa_nb.attacks", fromlist=["x"]).AttackSpec("pgd", steps=0), "steps must be a positive integer"),
    (lambda: __import__("tecoa_nb.train", fromlist=["x"]).epoch_batches(10, 0, 0, 0), "batch_size must be positive"),
])
def test_library_bad_names_and_numbers(call, says):
    with pytest.raises(TecoaError) as e: call()
    assert says in str(e.value), str(e.value)

def test_eps_parser():
    from tecoa_nb.attacks import parse_eps, AttackSpec
    assert parse_eps("4/255") == 4/255 and parse_eps("0.0157") == 0.0157 and AttackSpec("pgd", eps="1/255").eps == 1/255

def test_missing_dataset_directory_says_where(tmp_path):
    from tecoa_nb.data import load_dataset
    with pytest.raises(TecoaError) as e: load_dataset("cifar10", "test", tmp_path/"nowhere")
    assert "files are not in" in str(e.value) and "TECOA_DATA" in str(e.value)

def test_truncated_and_foreign_checkpoints(tmp_path):
    from tecoa_nb.models import load_clip, load_checkpoint_into
    tiny, mini = load_clip("tecoa-tiny"), load_clip("tecoa-mini")
    good = atomic_torch_save(mini.model.state_dict(), tmp_path/"mini.pt")
    with pytest.raises(TecoaError, match="does not match the model.*architecture"): load_checkpoint_into(tiny.model, good)
    cut = tmp_path/"cut.pt"; cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(TecoaError, match="corrupt"): load_checkpoint_into(tiny.model, cut)
    junk = tmp_path/"junk.pt"; junk.write_bytes(b"not a checkpoint")
    with pytest.raises(TecoaError, match="corrupt"): load_checkpoint_into(tiny.model, junk)

# --- batch isolation -------------------------------------------------------------------------------------------------
def _nb(path, code):
    import nbformat
    nb = nbformat.v4.new_notebook()
    p = nbformat.v4.new_code_cell("result_path = None\nfail = False"); p.metadata["tags"] = ["parameters"]
    nb.cells = [p, nbformat.v4.new_code_cell(code)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "python3", "language": "python"}
    nbformat.write(nb, str(path))

def test_reproduce_isolates_a_failing_run(tmp_path):
    from tecoa_nb.runs import reproduce
    (tmp_path/"nbs").mkdir(); (tmp_path/"papermill_runs").mkdir()
    _nb(tmp_path/"nbs"/"job.ipynb", "import json\nif fail: raise RuntimeError('boom')\n"
                                    "json.dump({'value': 1}, open(result_path, 'w'))")
    def manifest(fail_b):
        runs = [{"id": "a", "notebook": "nbs/job.ipynb"}, {"id": "b", "notebook": "nbs/job.ipynb", "parameters": {"fail": fail_b}},
                {"id": "c", "notebook": "nbs/job.ipynb"}]
        (tmp_path/"papermill_runs"/"t.yaml").write_text(json.dumps({"profile": "t", "runs": runs}))
    out = tmp_path/"papermill_runs"/"t"
    manifest(False)
    recs = reproduce("t", root=tmp_path, echo=lambda s: None)
    assert [r["status"] for r in recs] == ["ok"] * 3
    good_b = (out/"b.json").read_text()
    manifest(True)                       # now run b fails: a and c still complete, b's earlier good result stays
    lines = []
    recs = reproduce("t", root=tmp_path, force=True, echo=lines.append)
    assert {r["id"]: r["status"] for r in recs} == {"a": "ok", "b": "failed", "c": "ok"}
    assert "boom" in recs[1]["error"] and any(l.startswith("failed: b") for l in lines)
    assert (out/"b.json").read_text() == good_b
    assert json.loads((out/"b.failed.json").read_text())["run"]["status"] == "failed" and (out/"b.failed.ipynb").exists()
    assert not list((out/".partial").iterdir())
    manifest(False)                      # fixed: the failure record goes away
    recs = reproduce("t", root=tmp_path, only=["b"], echo=lambda s: None)
    assert recs[0]["status"] == "ok" and not (out/"b.failed.json").exists()

def test_cli_reproduce_exit_status_on_failure(tmp_path):
    (tmp_path/"nbs").mkdir(); (tmp_path/"papermill_runs").mkdir()
    _nb(tmp_path/"nbs"/"job.ipynb", "raise RuntimeError('boom')")
    (tmp_path/"papermill_runs"/"t.yaml").write_text(json.dumps({"profile": "t", "runs": [{"id": "a", "notebook": "nbs/job.ipynb"}]}))
    r = _tecoa("reproduce", "--profile", "t", cwd=tmp_path)
    assert r.returncode == 1 and "failed: a" in r.stdout, (r.stdout, r.stderr)


def test_results_do_not_depend_on_the_batch_size():
    """Invariant 8 in docs/design.md: PGD's and CW's random starts are keyed by example index, so two batch sizes give the same counts.
    The attacks here are mostly their random start (one tiny step, no keep-best), so the counts move with the draws:
    with starts drawn by position in the batch, the two batch sizes give different counts on these datasets."""
    import torch
    from tecoa_nb.models import zero_shot_classifier
    from tecoa_nb.evaluate import evaluate
    from tecoa_nb.attacks import AttackSpec
    torch.manual_seed(0)
    clf = zero_shot_classifier("tecoa-tiny")
    kw = dict(n_per_dataset=64, seed=3, progress=False)
    suite = ["world_shape-smoke", "world_count-smoke", "world_digits-smoke"]
    attacks = ["clean"] + [AttackSpec(a, eps=0.6, steps=1, alpha=1e-4, keep_best=False) for a in ("pgd", "cw")]
    a = evaluate(clf, suite, attacks, batch_size=64, **kw)
    b = evaluate(clf, suite, attacks, batch_size=5, **kw)
    cols = ["dataset", "attack", "n", "correct", "chance", "pred_top_share"]
    assert a[cols].equals(b[cols])
