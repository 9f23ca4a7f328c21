"`tecoa reproduce` on a terminal: one line of overall progress, a failure named by notebook and cell, a dry run with expected times."
import io, json
from pathlib import Path
import nbformat
from nbformat.v4 import new_notebook, new_code_cell, new_markdown_cell
from tecoa_nb.runs import reproduce

def _project(tmp_path:Path) -> Path:
    "Two runs of one notebook, one run of a notebook whose third cell raises."
    (tmp_path/"nbs").mkdir(); (tmp_path/"papermill_runs").mkdir()
    def nb(name, *cells):
        n = new_notebook(cells=[new_code_cell("x = 1\nresult_path = None", metadata={"tags": ["parameters"]}), *cells])
        n.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(n, str(tmp_path/"nbs"/name))
    nb("ok.ipynb", new_code_cell("import json\njson.dump({'value': x}, open(result_path, 'w'))"))
    nb("bad.ipynb", new_markdown_cell("A note."), new_code_cell("y = x + 1"), new_code_cell("# the failing cell\nraise ValueError('boom from the notebook')"))
    (tmp_path/"papermill_runs"/"toy.yaml").write_text(
        "profile: toy\nruns:\n  - {id: one, notebook: nbs/ok.ipynb, parameters: {x: 1}}\n  - {id: two, notebook: nbs/ok.ipynb, parameters: {x: 2}}\n"
        "  - {id: broken, notebook: nbs/bad.ipynb}\n")
    return tmp_path

def _record(root:Path, run_id:str, seconds:float, started:str="2000-01-01T00:00:00"):
    "A result JSON from an earlier run (another code hash, so not up to date) that took `seconds`."
    out = root/"papermill_runs"/"toy"; out.mkdir(parents=True, exist_ok=True)
    (out/f"{run_id}.json").write_text(json.dumps({"run": {"status": "ok", "seconds": seconds, "code_hash": "old", "started": started}}))

def test_progress_line_per_finished_run_with_time_left_from_records(tmp_path):
    root = _project(tmp_path); _record(root, "one", 100.0); _record(root, "two", 200.0)
    lines = []
    reproduce("toy", root=root, only=["one", "two"], jobs=1, aggregate=False, echo=lines.append, tty=False)
    prog = [l for l in lines if " runs done, " in l]
    assert len(prog) == 2, lines
    assert prog[0].startswith("[toy] 1/2 runs done, ") and prog[0].endswith("elapsed, about 3m20s left"), prog
    assert prog[1].startswith("[toy] 2/2 runs done, ") and prog[1].endswith("nothing left"), prog

def test_progress_line_rewritten_in_place_on_a_terminal(tmp_path, monkeypatch):
    root = _project(tmp_path); _record(root, "two", 65.0)
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    reproduce("toy", root=root, only=["one", "two"], jobs=1, aggregate=False, echo=lambda *a: None, tty=True)
    text = out.getvalue()
    assert "\r\x1b[K[toy] 0/2 runs done, " in text and "about 2m10s left" in text, text   # one has no record: its notebook's last, 65 s
    assert "\r\x1b[K[toy] 1/2 runs done, " in text and "about 1m05s left" in text, text
    assert text.endswith("nothing left\n") and "left\n" not in text[:-1], text                # rewritten in place, never a line of its own
    assert "\r\x1b[K[1/2] one: ok in " in text                                               # the runs' own lines above it

def test_failure_names_notebook_and_cell(tmp_path):
    root = _project(tmp_path)
    lines = []
    recs = reproduce("toy", root=root, only=["broken"], aggregate=False, echo=lines.append, tty=False)
    assert recs[0]["status"] == "failed" and recs[0]["cell"] == {"number": 4, "first_line": "# the failing cell"}, recs
    said = next(l for l in lines if l.startswith("[1/1] broken: failed"))
    assert "bad.ipynb, cell 4 (# the failing cell): ValueError: boom from the notebook" in said, said
    failed = json.loads((root/"papermill_runs"/"toy"/"broken.failed.json").read_text())["run"]
    assert failed["cell"]["number"] == 4

def test_dry_run_gives_expected_times_and_how_to_rerun(tmp_path):
    root = _project(tmp_path)
    reproduce("toy", root=root, only=["one"], aggregate=False, echo=lambda *a: None, tty=False)   # one is now up to date
    _record(root, "two", 90.0)
    lines = []
    rows = reproduce("toy", root=root, dry_run=True, echo=lines.append)
    exp = {r["run"]: r["expected"] for r in rows}
    assert exp["two"] == "1m30s" and exp["broken"] == "–" and exp["one"].endswith("s") and exp["one"] != "–", rows
    assert "expected" in lines[0].split(), lines[0]
    assert any(l.startswith("2 would run (expected at least 1m30s by the recorded run times), 1 up to date") for l in lines), lines
    assert any("--force" in l and "--only one --force" in l for l in lines), lines
