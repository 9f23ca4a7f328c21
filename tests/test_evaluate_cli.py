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
