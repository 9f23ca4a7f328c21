"`tecoa compare OLD NEW` and `tecoa reproduce --compare DIR`, run as a user would: rows against their binomial noise, verdicts, headline."
import json, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def _tecoa(*args, **kw):
    exe = Path(sys.executable).parent/"tecoa"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "tecoa_nb.cli"]
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=600, **kw)

def _rows(changes=None):
    "A main run's rows: two methods on four datasets (the first the adaptation set), clean and PGD-10, 200 images each."
    rows = []
    for m in ("CLIP", "TeCoA-FT"):
        for i, ds in enumerate(("adapt", "zs1", "zs2", "zs3")):
            for att in ("clean", "PGD-10"):
                c = (changes or {}).get((m, ds, att), 100 + 10 * i - (60 if att != "clean" else 0))
                rows.append({"method": m, "dataset": ds, "attack": att, "eps": 0.0 if att == "clean" else 1 / 255, "n": 200,
                             "correct": c, "accuracy": 100 * c / 200, "chance": 10.0, "seconds": 0.1})
    return rows

def _results(root:Path, changes=None, verdict="holds") -> Path:
    "root/papermill_runs/toy with main.json (and the aggregation's record), and root/figures/toy/claims.csv."
    res = root/"papermill_runs"/"toy"; res.mkdir(parents=True)
    (res/"main.json").write_text(json.dumps({"schema": "tecoa_nb.result/1", "params": {"adapt": "adapt"}, "extra": {"robust_attack": "PGD-10"},
                                             "rows": _rows(changes), "run": {"id": "main", "status": "ok"}}))
    (res/"aggregate.json").write_text(json.dumps({"run": {"id": "aggregate", "status": "ok"}}))
    fig = root/"figures"/"toy"; fig.mkdir(parents=True)
    (fig/"claims.csv").write_text(f"#,claim,paper,this study,verdict\n1,TeCoA helps,x,y,{verdict}\n2,CLIP breaks,x,y,holds\n")
    return res

def test_compare_finds_the_row_beyond_noise(tmp_path):
    old = _results(tmp_path/"old")
    # 25% -> 65% robust on 200 images: beyond noise (about ±9 points); 60% -> 62.5% clean: within it
    new = _results(tmp_path/"new", {("TeCoA-FT", "zs1", "PGD-10"): 130, ("CLIP", "zs2", "clean"): 125}, verdict="does not hold")
    out = tmp_path/"summary"/"compare.md"
    r = _tecoa("compare", str(old), str(new), "--out", str(out))
    assert r.returncode == 0, r.stderr
    s = r.stdout
    assert "16 rows in 1 run: 14 identical, 1 within noise, 1 beyond noise" in s, s
    beyond = [l for l in s.splitlines() if l.startswith("| main | TeCoA-FT · zs1 · PGD-10 |")]
    assert len(beyond) == 1 and "25.0 (n=200) | 65.0 (n=200) | +40.0 |" in beyond[0], s
    assert "CLIP · zs2 · clean" not in s                                       # within noise: counted, not listed
    assert "| claims | 1 | TeCoA helps | holds | does not hold |" in s and "claims: 1 of 2 the same" in s, s
    assert "Headline: not the same (6 cells: 4 identical, 1 within noise, 1 beyond noise)" in s, s
    assert out.read_text().strip() == s.strip()

def test_compare_committed_mini_with_itself():
    mini = ROOT/"papermill_runs"/"mini"
    r = _tecoa("compare", str(mini), str(mini))
    assert r.returncode == 0, r.stderr
    n = sum(len(json.loads(p.read_text()).get("rows") or []) for p in mini.glob("*.json"))
    runs = sum(1 for p in mini.glob("*.json") if json.loads(p.read_text()).get("rows"))
    assert f"**{n} rows in {runs} runs: {n} identical, 0 within noise, 0 beyond noise**" in r.stdout, r.stdout
    assert "Verdicts: every verdict the same (claims: 8 of 8 the same" in r.stdout and "Headline: the same" in r.stdout, r.stdout

def test_compare_missing_or_unreadable_input(tmp_path):
    old = _results(tmp_path/"old")
    (tmp_path/"broken").mkdir(); (tmp_path/"broken"/"main.json").write_text("{not json")
    (tmp_path/"empty").mkdir()
    for new, says in ((tmp_path/"nowhere", "is not a folder"), (tmp_path/"empty", "holds no result JSONs"),
                      (tmp_path/"broken", "cannot be read as JSON")):
        r = _tecoa("compare", str(old), str(new))
        err = r.stderr.strip()
        assert r.returncode == 2 and len(err.splitlines()) == 1 and err.startswith("tecoa: error: ") and says in err, (r.returncode, err)

def test_reproduce_compare(tmp_path):
    "`reproduce --compare DIR`: a wrong DIR is said before anything runs; after the runs, the comparison is printed."
    import nbformat
    from nbformat.v4 import new_notebook, new_code_cell
    proj = tmp_path/"proj"; (proj/"nbs").mkdir(parents=True); (proj/"papermill_runs").mkdir()
    body = ("import json\njson.dump({'schema': 'tecoa_nb.result/1', 'params': {'adapt': 'adapt'}, 'extra': {'robust_attack': 'PGD-10'},"
            f" 'rows': {_rows()!r}}}, open(result_path, 'w'))")
    nb = new_notebook(cells=[new_code_cell("result_path = None", metadata={"tags": ["parameters"]}), new_code_cell(body)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(proj/"nbs"/"main.ipynb"))
    manifest = proj/"papermill_runs"/"toy.yaml"; manifest.write_text("profile: toy\nruns:\n  - {id: main, notebook: nbs/main.ipynb}\n")
    r = _tecoa("reproduce", "--profile", str(manifest), "--compare", str(tmp_path/"nowhere"), cwd=str(proj))
    assert r.returncode == 2 and "is not a folder" in r.stderr and not (proj/"papermill_runs"/"toy").exists(), r.stderr
    old = _results(tmp_path/"committed", {("TeCoA-FT", "zs1", "PGD-10"): 130})
    r = _tecoa("reproduce", "--profile", str(manifest), "--jobs", "1", "--compare", str(old), cwd=str(proj))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "16 rows in 1 run: 15 identical, 0 within noise, 1 beyond noise" in r.stdout, r.stdout
    assert "Verdicts: not compared (no figures folder for NEW" in r.stdout, r.stdout
