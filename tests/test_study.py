"The study end to end on the smoke profile: every manifest validates, and `reproduce` runs every study notebook and the aggregation."
import csv, json
from pathlib import Path
import pytest
from tecoa_nb.runs import load_manifest, reproduce

ROOT = Path(__file__).resolve().parents[1]

@pytest.mark.parametrize("profile", ["smoke", "mini", "paper"])
def test_manifest_validates(profile):
    m = load_manifest(profile, root=ROOT)
    assert m.runs and m.aggregate is not None
    assert all(r.notebook.exists() for r in m.runs)

def test_smoke_study_end_to_end(tmp_path):
    lines = []
    recs = reproduce("smoke", root=ROOT, out_dir=tmp_path/"runs", figures_dir=tmp_path/"figures", echo=lines.append)
    failed = [r for r in recs if r["status"] != "ok"]
    assert not failed, "\n".join(f"{r['id']}: {r.get('error', '')}" for r in failed)
    m = load_manifest("smoke", root=ROOT)
    for r in m.runs:
        res = json.loads((tmp_path/"runs"/f"{r.id}.json").read_text())
        assert res["run"]["status"] == "ok"
        if res["rows"] and "chance" in res["rows"][0]:      # an evaluation: it records what it evaluated, per dataset
            names = {row["dataset"] for row in res["rows"]}
            assert names <= {k.split("[")[0] for k in res["datasets"]}, r.id
            assert all("chance" in d and "class_counts" in d for d in res["datasets"].values()), r.id
            assert set(res["subsets"]) == set(res["datasets"]) and res["evaluation"].get("seed") is not None, r.id
    claims = list(csv.DictReader(open(tmp_path/"figures"/"claims.csv")))
    assert [int(c["#"]) for c in claims] == list(range(1, 9))
    assert {c["verdict"] for c in claims} <= {"holds", "does not hold", "not measured"}
    assert (tmp_path/"figures"/"main_results.png").stat().st_size > 1000
    own = list(csv.DictReader(open(tmp_path/"figures"/"own_method.csv")))        # every candidate and rival, held out, with its val-only search numbers
    ex = json.loads((tmp_path/"runs"/"own_method.json").read_text())["extra"]
    assert {r["method"] for r in own} == {"CLIP", *ex["rivals"], *ex["candidates"]} and ex["ours"] in ex["candidates"]
    assert sum(r["role"] == "ours" for r in own) == 1 and all(r["transfer-val robust"] for r in own if r["role"] != "base")
    verdict = list(csv.DictReader(open(tmp_path/"figures"/"own_method_verdict.csv")))
    assert [v["part"] for v in verdict] == ["robust", "clean", "overall"] and {v["verdict"] for v in verdict} <= {"met", "not met"}
    per = [r["dataset"] for r in csv.DictReader(open(tmp_path/"figures"/"own_method_per_dataset.csv"))]   # the verdict's numbers per dataset
    assert per[-1].startswith("mean without ") and len(per) == len({row["dataset"] for row in json.loads((tmp_path/"runs"/"own_method.json").read_text())["rows"]}) - 1 + 2
    # a second pass finds every run up to date
    rows = reproduce("smoke", root=ROOT, out_dir=tmp_path/"runs", figures_dir=tmp_path/"figures", dry_run=True, echo=lines.append)
    assert all(r["status"] == "up to date" for r in rows)
