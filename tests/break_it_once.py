"""Break it once: each trust property of the project, broken on purpose in a copy of the repository, must fail its test.

A test that cannot fail proves nothing. For every property the trust tests guard (sanity checks and flags, kill and
resume, batch isolation, bad input, determinism), `MUTANTS` names one small change to the library that breaks it and
the tests that must then fail. The script copies the repository once per mutant (tracked files only), applies the
change to the exported module *and* to its notebook (library notebooks run their own copy of the exported code),
runs the tests with the copy first on PYTHONPATH, and reports whether each break was caught. A control run of the
same tests on the unchanged copy comes first: a test that fails there would make every "caught" meaningless.

    python tests/break_it_once.py            # all mutants, two at a time; exit status 1 if any break goes unnoticed
    python tests/break_it_once.py --only eps-flag resume-optimizer --jobs 1
    python tests/break_it_once.py --list

It is not part of the test suite (it runs the heavier tests a dozen times, about 20 minutes on 2 cores).
"""
from __future__ import annotations
import argparse, json, os, shutil, subprocess, sys, tempfile, time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NB = "tests/test_notebooks.py::test_library_notebook"

@dataclass(frozen=True)
class Mutant:
    name: str
    breaks: str                      # the property, in words
    module: str                      # tecoa_nb/<module>.py (its notebook is found from the export header)
    edits: tuple                     # (old, new) pairs, each old string present exactly once
    tests: tuple                     # pytest arguments selecting the tests that must fail

MUTANTS = [
    Mutant("eps-flag", "an accuracy that rises with ε is flagged", "sanity",
           (('if (r["accuracy"] > smaller_eps["accuracy"] + tol).any(): flags[i].append("eps")',
             'if (r["accuracy"] > smaller_eps["accuracy"] + tol).any(): pass'),), (f"{NB}[14_sanity]",)),
    Mutant("more-iterations", "more PGD steps or restarts that raise robust accuracy are caught", "sanity",
           (("worse = [(k, v) for k, v in acc.items() if v > base + tol]", "worse = []"),), (f"{NB}[14_sanity]",)),
    Mutant("bad-gradients", "zero or non-finite input gradients are counted", "sanity",
           (("bad = bad & ~ok", "bad = bad & ok & ~ok"),), (f"{NB}[14_sanity]", f"{NB}[08_evaluate]")),
    Mutant("black-box", "a black-box attack stronger than PGD and CW is caught", "sanity",
           (("ok = sq >= acc[best] - tol", "ok = True"),), (f"{NB}[14_sanity]",)),
    Mutant("evaluation-flags", "every evaluation table carries its sanity flags", "evaluate",
           (('if sanity: table["flags"] = table_flags(table)', 'if False: table["flags"] = table_flags(table)'),), (f"{NB}[08_evaluate]",)),
    Mutant("reproduce-skip", "an interrupted `tecoa reproduce` keeps its finished runs", "runs",
           (("todo = [r for r in runs if force or not is_up_to_date(r, out_dir)]", "todo = list(runs)"),),
           ("tests/test_resume.py::test_reproduce_killed_then_rerun",)),
    Mutant("batch-isolation", "a failing run is recorded and the others complete", "runs",
           (('    except Exception as e:\n        rec["status"] = "failed"', '    except ZeroDivisionError as e:\n        rec["status"] = "failed"'),
            ("except Exception as e:     # a failure outside the notebook", "except ZeroDivisionError as e:     # a failure outside the notebook")),
           ("tests/test_trust.py::test_reproduce_isolates_a_failing_run",)),
    Mutant("resume-optimizer", "a killed training resumes bitwise (optimiser state)", "train",
           (('opt.load_state_dict(ck["optimizer"]); ', ""),), ("tests/test_train_cli.py::test_sigkill_then_resume_is_bitwise",)),
    Mutant("resume-schedule", "a killed training resumes bitwise (learning-rate schedule)", "train",
           (('; sched.load_state_dict(ck["scheduler"])', ""),), ("tests/test_train_cli.py::test_sigkill_then_resume_is_bitwise",)),
    # not a mutant: resuming without restoring the global random state (`_set_rng_state`) leaves the test passing, and
    # rightly, since no training draw uses the global generators (data order and attack starts are counter-based)
    Mutant("evaluate-resume", "an interrupted `tecoa evaluate` keeps its finished jobs", "evaluate_cli",
           (("    if not path.exists(): return False", "    return False"),), ("tests/test_evaluate_cli.py::test_evaluate_killed_then_resumed",)),
    Mutant("data-order", "two identical smoke trainings are bitwise equal", "train",
           (("perm = torch.randperm(n, generator=make_generator(_mix(seed, 1, epoch)))",
             'perm = torch.randperm(n, generator=make_generator(int.from_bytes(os.urandom(4), "little")))'),),
           ("tests/test_resume.py::test_smoke_training_is_bitwise_deterministic",)),
    Mutant("eps-units", "ε given in /255 units gets a did-you-mean sentence", "attacks",
           (('if _norm(norm, ("linf", "l2", "l1")) == "linf" and eps > 1:', "if False:"),),
           ("tests/test_resume.py::test_eps_in_255_units_gets_did_you_mean",)),
    Mutant("jobs-zero", "`--jobs 0` is refused", "runs",
           (("if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:", "if False:"),),
           ("tests/test_trust.py::test_cli_non_positive_jobs",)),
    Mutant("train-checks-late", "`tecoa train` checks its settings before loading the model", "train_cli",
           (("    check_settings(s)\n", ""),), ("tests/test_resume.py", "-k", "train and before")),
    Mutant("batch-size", "an evaluation's attack starts do not depend on the batch size", "evaluate",
           (("if _keyed(atk): kw.update(seed=aseeds[j], index=where)", "if False: pass"),),
           ("tests/test_trust.py::test_results_do_not_depend_on_the_batch_size", f"{NB}[08_evaluate]")),
    Mutant("collapsed-flag", "a classifier whose clean predictions collapsed is flagged", "sanity",
           (('for i in g.index: flags[i].append("collapsed")', "for i in g.index: pass"),),
           (f"{NB}[14_sanity]", f"{NB}[08_evaluate]")),
    Mutant("eval-cache-key", "an evaluation row is shared only with the same attack", "study",
           (("json.dumps(attack.describe(), sort_keys=True, default=str), seed,", "None, seed,"),),
           (f"{NB}[09_study]",)),
    Mutant("wise-key", "a weight-averaged model is evaluated as itself, not read back as the model it averages", "study",
           (("\"key\": f\"{info['key']}-wise{m.wise:g}\"", "\"key\": info[\"key\"]"),), (f"{NB}[09_study]",)),
    Mutant("wise-direction", "WiSE-FT's w is the adapted weights' share", "adapters",
           (("torch.lerp(o.to(t), t, w)", "torch.lerp(t, o.to(t), w)"),), (f"{NB}[06_adapters]",)),
    Mutant("transfer-split", "the transfer check reads the val split only", "study",
           (('ds = load_dataset(cfg.adapt, "val")\n    labels = ds.labels', 'ds = load_dataset(cfg.adapt, "train")\n    labels = ds.labels'),),
           (f"{NB}[09_study]",)),
    Mutant("kw-select", "a loss's settings picked on val are the best point of rule 1", "study",
           (('win = max(range(len(rows)), key=lambda i: (rows[i]["val_robust"], rows[i]["val_clean"], -i))',
             'win = min(range(len(rows)), key=lambda i: (rows[i]["val_robust"], rows[i]["val_clean"], -i))'),), (f"{NB}[09_study]",)),
    Mutant("train-keep-best", "the study trains on PGD's last iterate, as the paper does", "study",
           (("alpha=self.train_alpha or self.eps, keep_best=False)", "alpha=self.train_alpha or self.eps)"),),
           (f"{NB}[09_study]",)),
    Mutant("foreign-checkpoint", "a checkpoint of another architecture is refused", "models",
           (("if not (missing or unexpected or shapes): return", "return"),),
           ("tests/test_trust.py::test_truncated_and_foreign_checkpoints",)),
]

def _tracked(root:Path) -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, text=True, check=True).stdout
    return [p for p in out.split("\0") if p]

def copy_repo(dest:Path, root:Path=ROOT) -> Path:
    "The tracked files of `root` (as they are in the working tree) under `dest`."
    for rel in _tracked(root):
        src = root/rel
        if src.is_file(): (dest/rel).parent.mkdir(parents=True, exist_ok=True); shutil.copy2(src, dest/rel)
    return dest

def _notebook_of(module_path:Path) -> Path|None:
    for line in module_path.read_text().splitlines():
        if line.startswith("# %% ../nbs/"): return module_path.parent/line[len("# %% "):].split(" ")[0]
    return None

def apply(m:Mutant, repo:Path):
    "Apply mutant `m` to the module and its notebook in `repo` (every edit must match exactly once in each)."
    py = repo/"tecoa_nb"/f"{m.module}.py"
    text = py.read_text()
    for old, new in m.edits:
        if text.count(old) != 1: raise SystemExit(f"{m.name}: {old!r} occurs {text.count(old)} times in {py.name}, not once")
        text = text.replace(old, new)
    py.write_text(text)
    nb_path = _notebook_of(repo/"tecoa_nb"/f"{m.module}.py")
    nb = json.loads(nb_path.read_text())
    for old, new in m.edits:
        hits = [c for c in nb["cells"] if old in "".join(c["source"])]
        if len(hits) != 1: raise SystemExit(f"{m.name}: {old!r} is in {len(hits)} cells of {nb_path.name}, not one")
        src = "".join(hits[0]["source"]).replace(old, new)
        hits[0]["source"] = src.splitlines(keepends=True)
    nb_path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")

def run_tests(repo:Path, tests:tuple, home:Path, timeout:int=1800) -> tuple[int, float, str]:
    "pytest on `tests` inside `repo` with the copy first on PYTHONPATH; (exit status, seconds, last lines)."
    env = os.environ | {"PYTHONPATH": str(repo), "TECOA_HOME": str(home), "OMP_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests], cwd=repo, env=env,
                       capture_output=True, text=True, timeout=timeout)
    lines = (r.stdout + r.stderr).strip().splitlines()
    return r.returncode, time.perf_counter() - t0, lines[-1] if lines else ""

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", nargs="+", metavar="NAME", help="run only these mutants")
    ap.add_argument("--jobs", type=int, default=2, help="mutants tested at once")
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    a = ap.parse_args(argv)
    todo = [m for m in MUTANTS if not a.only or m.name in a.only]
    if a.list or not todo:
        for m in MUTANTS: print(f"{m.name:20s} {m.breaks}")
        return 0
    work = Path(tempfile.mkdtemp(prefix="break_it_once_"))
    home = work/"home"; home.mkdir()
    print(f"working in {work}")
    ks = [m for m in todo if "-k" in m.tests]
    control_tests = tuple(dict.fromkeys(t for m in todo if m not in ks for t in m.tests))
    control = copy_repo(work/"control")
    rc, secs, last = run_tests(control, control_tests, home)
    print(f"control (unchanged copy): exit {rc} in {secs:.0f} s: {last}")
    for m in ks:
        rc_k, s_k, last_k = run_tests(control, m.tests, home); print(f"control {' '.join(m.tests)}: exit {rc_k}: {last_k}"); rc = rc or rc_k
    if rc != 0: print("the tests fail without any break; fix them first"); return 2
    def one(m:Mutant):
        repo = copy_repo(work/m.name); apply(m, repo)
        rc, secs, last = run_tests(repo, m.tests, home)
        return m, rc, secs, last
    rows, missed = [], []
    with ThreadPoolExecutor(max(1, a.jobs)) as ex:
        for m, rc, secs, last in ex.map(one, todo):
            caught = rc != 0
            if not caught: missed.append(m.name)
            rows.append((m.name, m.breaks, "caught" if caught else "MISSED", f"{secs:.0f}", last))
            print(f"{m.name}: {'caught' if caught else 'MISSED'} in {secs:.0f} s ({last})", flush=True)
    print("\n| mutant | breaks | tests | verdict | seconds |\n|---|---|---|---|---|")
    for (name, breaks, verdict, secs, _), m in zip(rows, todo):
        print(f"| {name} | {breaks} | {' '.join(t.replace('tests/', '') for t in m.tests)} | {verdict} | {secs} |")
    shutil.rmtree(work, ignore_errors=True)
    if missed: print(f"\nnot caught: {', '.join(missed)}"); return 1
    return 0

if __name__ == "__main__":
    sys.exit(main())
