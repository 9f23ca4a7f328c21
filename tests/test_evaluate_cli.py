"`tecoa evaluate` as a user runs it: on the smoke suite with the study's TinyCLIP, killed (SIGKILL) mid-way and resumed."
import json, os, signal, subprocess, sys, time
from pathlib import Path
import pandas as pd

EPS = ["1/255", "4/255", "8/255"]
ARGS = ["evaluate", "--model", "tinyclip", "--suite", "smoke", "--attacks", "clean,pgd10", "--eps", ",".join(EPS),
        "--n", "16", "--batch-size", "8", "--quiet"]
N_JOBS = 3 * (1 + len(EPS))

def _cmd(*args):
    exe = Path(sys.executable).parent/"tecoa"
    return ([str(exe)] if exe.exists() else [sys.executable, "-m", "tecoa_nb.cli"]) + list(args)

def _results(out): return sorted(p for p in Path(out).rglob("*.json") if not p.name.startswith("leaderboard"))

def _accuracies(out):
    rows = []
    for p in _results(out):
        obj = json.loads(p.read_text())
        rows += [(obj["params"]["dataset"], obj["params"]["attack"], obj["params"]["eps"], r["correct"], r["n"]) for r in obj["rows"]]
    return sorted(rows)

def test_evaluate_killed_then_resumed(tmp_path, monkeypatch):
    monkeypatch.setenv("TECOA_PROFILE", "smoke")
    from tecoa_nb.evaluate_cli import load_for_eval, run_evaluation, resolve_suite, parse_eps, write_leaderboard
    # the uninterrupted reference, in this process
    clf, info = load_for_eval("tinyclip")
    run_evaluation(clf, info, resolve_suite("smoke")[0], ["clean", "pgd10"], parse_eps(",".join(EPS)), tmp_path/"ref",
                   n=16, batch_size=8, protocol="smoke", progress=False)
    assert len(_results(tmp_path/"ref")) == N_JOBS
    # the same evaluation from the shell, killed once some results are written
    out = tmp_path/"run"
    p = subprocess.Popen(_cmd(*ARGS, "--out", str(out)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.time()
    while len(_results(out)) < 2 and p.poll() is None and time.time() - t0 < 900: time.sleep(0.01)
    p.send_signal(signal.SIGKILL); p.wait()
    done = {f: f.read_text() for f in _results(out)}
    assert 2 <= len(done) < N_JOBS, f"{len(done)} results at the kill; the evaluation should have been cut short"
    for text in done.values(): json.loads(text)      # every file there is whole (atomic writes)
    # the rerun skips what is done, computes the rest, prints the table and ends where the uninterrupted run ended
    r = subprocess.run(_cmd(*ARGS, "--out", str(out)), capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr
    assert f"{len(done)} of {N_JOBS} results are already in" in r.stdout and "| mean" in r.stdout
    assert all(f.read_text() == text for f, text in done.items())
    assert _accuracies(out) == _accuracies(tmp_path/"ref")
    # the leaderboard of the folder
    md, csv = write_leaderboard(out)
    board = pd.read_csv(csv)
    assert len(board) == N_JOBS and set(board.model) == {"tinyclip"} and md.read_text().startswith("# Leaderboard")

def test_evaluate_bad_input_is_one_sentence(tmp_path, capsys):
    from tecoa_nb.cli import main
    assert main(["evaluate", "--model", "tecoa-tiny", "--suite", "smoke", "--eps", "4", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tecoa: error: eps=4 is outside [0,1]") and "did you mean 4/255" in err and err.count("\n") == 1

def _evaluate(*args):
    "`tecoa evaluate` in this process: (exit code, stdout, stderr)."
    import contextlib, io
    from tecoa_nb.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err): rc = main(["evaluate", *args])
    return rc, out.getvalue(), err.getvalue()

TINY = ["--model", "tecoa-tiny", "--suite", "noise", "--attacks", "clean,pgd2", "--eps", "1/255", "--batch-size", "8", "--quiet"]

def _no_work(monkeypatch):
    "Fail the test if the command starts any work: loading a dataset or the model."
    import tecoa_nb.data, tecoa_nb.evaluate_cli
    def work(*a, **k): raise AssertionError("work started before the input was checked")
    monkeypatch.setattr(tecoa_nb.data, "load_dataset", work); monkeypatch.setattr(tecoa_nb.evaluate_cli, "load_for_eval", work)

def test_rerun_with_other_settings_does_not_replace_results(tmp_path):
    rc, _, err = _evaluate(*TINY, "--n", "12", "--out", str(tmp_path))
    assert rc == 0, err
    files = {f: f.read_text() for f in _results(tmp_path)}
    assert len(files) == 2
    rc, out, err = _evaluate(*TINY, "--n", "8", "--out", str(tmp_path))         # another n: refused, nothing replaced
    assert rc == 2 and err.startswith("tecoa: error: ") and err.count("\n") == 1 and "--overwrite" in err and "n=12" in err, err
    assert {f: f.read_text() for f in _results(tmp_path)} == files
    rc, _, err = _evaluate(*TINY, "--n", "8", "--out", str(tmp_path), "--overwrite")   # asked for: replaced
    assert rc == 0, err
    assert {json.loads(f.read_text())["params"]["n"] for f in _results(tmp_path)} == {8}

def test_leaderboard_flags_mixed_settings(tmp_path):
    from tecoa_nb.evaluate_cli import load_for_eval, run_evaluation, summarize_results, leaderboard, write_leaderboard
    clf, info = load_for_eval("tecoa-tiny")
    run_evaluation(clf, info, ["noise"], ["clean"], [], tmp_path, n=12, batch_size=12, progress=False)
    run_evaluation(clf, info, ["noise"], ["pgd2"], [1/255], tmp_path, n=8, batch_size=8, progress=False)
    long = summarize_results(tmp_path)
    assert sorted(long.settings.unique()) == ["n=12, seed=0, split=test, templates=paper", "n=8, seed=0, split=test, templates=paper"]
    rows = set().union(*(set(w.index) for w in leaderboard(long).values()))
    assert rows == {"tecoa-tiny [n=12, seed=0, split=test, templates=paper]", "tecoa-tiny [n=8, seed=0, split=test, templates=paper]"}
    md = write_leaderboard(tmp_path)[0].read_text()
    assert "were computed under 2 different settings" in md, md

def test_missing_checkpoint_is_one_sentence_before_any_work(tmp_path, monkeypatch):
    _no_work(monkeypatch)
    rc, _, err = _evaluate(*TINY, "--checkpoint", str(tmp_path/"missing.pt"), "--out", str(tmp_path/"out"))
    assert rc == 2 and err.startswith(f"tecoa: error: Checkpoint {tmp_path/'missing.pt'} does not exist") and err.count("\n") == 1, err

def test_out_under_a_file_is_one_sentence_before_any_work(tmp_path, monkeypatch):
    (tmp_path/"notes.txt").write_text("a file, not a folder")
    _no_work(monkeypatch)
    rc, _, err = _evaluate(*TINY, "--out", str(tmp_path/"notes.txt"/"results"))
    assert rc == 2 and err.startswith("tecoa: error: ") and "notes.txt" in err and "is a file" in err and err.count("\n") == 1, err
    assert not (tmp_path/"notes.txt"/"results").exists()

def test_help_has_examples_suites_and_the_default_eps(capsys):
    import pytest
    from tecoa_nb.cli import main
    from tecoa_nb.data import DatasetSpec, register_dataset, list_datasets
    from tecoa_nb import evaluate_cli as ec
    register_dataset(DatasetSpec("help-check-set", ["a", "b"], ["{}"], 32, lambda split, root=None: None, kind="world"), overwrite=True)
    with pytest.raises(SystemExit) as e: main(["evaluate", "--help"])
    text = " ".join(capsys.readouterr().out.split())            # argparse wraps lines
    assert e.value.code == 0 and "examples:" in text and text.count("tecoa evaluate --") >= 2
    assert all(p in text for p in [*ec._presets(), *ec.PRESET_ALIASES]) and all(d in text for d in list_datasets())
    assert "help-check-set" in text                              # the names come from the registry
    assert f"default: {', '.join(ec.eps_label(e) for e in ec.DEFAULT_EPS)}" in text, text
