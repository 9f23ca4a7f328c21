"""`tecoa leaderboard`: measured numbers beside published ones of the same protocol only, within noise or not, on result
files written the way `tecoa evaluate` writes them (only the fields the leaderboard reads) and fixture published rows."""
import contextlib, io, json, math
from pathlib import Path
import pandas as pd
import pytest

AA = "aa[apgd-ce+apgd-t]"
MODEL = "tecoa4-vitb32"

def fake_result(folder, dataset, attack, eps, protocol, n, correct, *, templates=None, chance=10.0, flags="", model=MODEL):
    from tecoa_nb.evaluate_cli import get_protocol, eps_label
    p = get_protocol(protocol) if protocol else None
    params = {"model": {"model": model, "pretrained": None}, "model_key": "k" * 10, "dataset": dataset, "attack": attack, "eps": eps,
              "n": None if p is not None and p.n is None else n, "seed": 0, "split": "test", "protocol": protocol, "templates": templates or (p.templates if p else "paper")}
    acc = 100 * correct / n
    row = {"dataset": dataset, "attack": attack, "n": n, "correct": correct, "accuracy": acc, "chance": chance,
           "above_chance": acc - chance, "flags": flags}
    name = "clean.json" if attack == "clean" else f"{attack}@{eps_label(eps).replace('/', '-')}.json"
    path = Path(folder)/f"{protocol}-{n}-{templates}"/dataset/name; path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"schema": "tecoa_nb.result/1", "params": params, "rows": [row]}))

PUBLISHED = [
    {"model": MODEL, "protocol": "robustvlm", "dataset": "cifar10", "metric": "robust", "value": 21.0, "eps": "4/255", "attack": "APGD", "source": "RobustVLM T2"},
    {"model": MODEL, "protocol": "robustvlm", "dataset": "stl10", "metric": "robust", "value": 48.0, "eps": 4/255, "attack": "APGD", "source": "RobustVLM T2"},
    {"model": MODEL, "protocol": "tecoa", "dataset": "cifar10", "metric": "clean", "value": 71.5, "eps": 0, "attack": "", "source": "TeCoA T1"},
    {"model": MODEL, "protocol": "tecoa", "dataset": "cifar10", "metric": "robust", "value": 37.7, "eps": 1/255, "attack": "pgd100", "source": "TeCoA T1"},
]

def _values(df):
    "Every number in a table, as a set of floats."
    out = set()
    for c in df.columns:
        for v in df[c]:
            if isinstance(v, (int, float)) and not isinstance(v, bool) and not (isinstance(v, float) and math.isnan(v)): out.add(float(v))
    return out

def test_within_noise_and_the_published_n(tmp_path):
    from tecoa_nb.evaluate_cli import summarize_results
    from tecoa_nb.leaderboard import compare_published
    fake_result(tmp_path, "cifar10", AA, 4/255, "robustvlm", 1000, 200, flags="collapsed")    # 20.0 vs 21.0
    fake_result(tmp_path, "stl10", AA, 4/255, "robustvlm", 1000, 400)                         # 40.0 vs 48.0
    t = compare_published(summarize_results(tmp_path), PUBLISHED)["robustvlm"].set_index("dataset")
    se = math.sqrt(0.2 * 0.8 / 1000 + 0.21 * 0.79 / 1000) * 100                               # the published n is the protocol's 1000
    assert t.loc["cifar10", "2 SE"] == pytest.approx(2 * se) and t.loc["cifar10", "published n"] == 1000
    assert t.loc["cifar10", "within noise"] == True and t.loc["stl10", "within noise"] == False
    assert t.loc["cifar10", "difference"] == pytest.approx(-1.0) and t.loc["cifar10", "flags"] == "collapsed"
    assert t.loc["cifar10", "clears chance"] == True and t.loc["cifar10", "above chance"] == pytest.approx(10.0)
    assert "mean of 2 of the 11 datasets" in t.loc["mean", "note"] and pd.isna(t.loc["mean", "difference"])

def test_another_protocol_never_shares_a_column_with_the_published_number(tmp_path):
    from tecoa_nb.evaluate_cli import summarize_results
    from tecoa_nb.leaderboard import compare_published, write_board
    fake_result(tmp_path, "cifar10", "clean", 0.0, "robustvlm", 1000, 640)                  # clean under robustvlm: published only under tecoa
    fake_result(tmp_path, "cifar10", AA, 4/255, "robustvlm", 100, 25)                       # robustvlm with --n 100
    fake_result(tmp_path, "cifar10", "pgd100", 1/255, "tecoa", 10000, 3000, templates="clip_benchmark")   # tecoa with other templates
    tables = compare_published(summarize_results(tmp_path), PUBLISHED)
    assert sorted(tables) == ["robustvlm", "robustvlm (modified: n=100 where it has 1000)",
                              "tecoa (modified: templates=clip_benchmark where it has paper)"]
    rv = tables["robustvlm"]
    row = rv[(rv.dataset == "cifar10") & (rv.metric == "clean")].iloc[0]
    assert row["measured (robustvlm)"] == 64.0 and pd.isna(row["published (robustvlm)"]) and "published under tecoa" in row["note"]
    assert 71.5 not in _values(rv) and 37.7 not in _values(rv)          # tecoa's published numbers appear nowhere in it
    for label in ("robustvlm (modified: n=100 where it has 1000)", "tecoa (modified: templates=clip_benchmark where it has paper)"):
        t = tables[label]
        assert not [c for c in t.columns if c.startswith("published")] and not {21.0, 48.0, 71.5, 37.7} & _values(t)
        assert list(t.filter(like="measured").columns) == [f"measured ({label})"]
    assert "published under tecoa" in tables["tecoa (modified: templates=clip_benchmark where it has paper)"].note.iloc[0]
    # the stacked CSV: each protocol its own columns, a measured number never in a published column of another protocol
    paths = write_board(tmp_path, tmp_path/"report", PUBLISHED)
    csv = pd.read_csv(paths["published_csv"])
    assert set(csv.filter(like="published (").columns) == {"published (robustvlm)"}
    assert csv["published (robustvlm)"].dropna().empty          # no robustvlm number was published for what was measured under it
    assert paths["png"].read_bytes()[:4] == b"\x89PNG" and "## Measured under `robustvlm (modified" in paths["md"].read_text()

def test_a_full_preset_mean_is_compared(tmp_path):
    from tecoa_nb.evaluate_cli import summarize_results, get_protocol
    from tecoa_nb.leaderboard import compare_published
    suite = get_protocol("robustvlm").suite
    for d in suite: fake_result(tmp_path, d, AA, 4/255, "robustvlm", 1000, 300)
    pub = [{"model": MODEL, "protocol": "robustvlm", "dataset": "mean", "metric": "robust", "value": 31.0, "eps": 4/255}]
    t = compare_published(summarize_results(tmp_path), pub)["robustvlm"].set_index("dataset")
    se = math.sqrt(len(suite) * 2 * 0.3 * 0.7 / 1000) / len(suite) * 100
    assert t.loc["mean", "difference"] == pytest.approx(-1.0) and t.loc["mean", "2 SE"] == pytest.approx(2 * se)
    assert t.loc["mean", "within noise"] == True and t.loc["mean", "clears chance"] == f"{len(suite)} of {len(suite)}"

def test_command_and_alias(tmp_path):
    from tecoa_nb.cli import main
    fake_result(tmp_path, "cifar10", AA, 4/255, "robustvlm", 1000, 200)
    (tmp_path/"pub.json").write_text(json.dumps(PUBLISHED))
    out = io.StringIO()
    with contextlib.redirect_stdout(out): assert main(["leaderboard", str(tmp_path), "--out", str(tmp_path/"r"), "--published", str(tmp_path/"pub.json")]) == 0
    assert "| 21.0 |" in out.getvalue() and (tmp_path/"r"/"leaderboard.png").exists()
    with contextlib.redirect_stdout(io.StringIO()): assert main(["evaluate", "--summarize", str(tmp_path)]) == 0
    assert (tmp_path/"leaderboard_published.csv").exists()
    (tmp_path/"bad.json").write_text(json.dumps([{"model": MODEL, "protocol": "robustvlm", "dataset": "cifar10", "metric": "robust", "value": 1}]))
    err = io.StringIO()
    with contextlib.redirect_stderr(err): assert main(["leaderboard", str(tmp_path), "--published", str(tmp_path/"bad.json")]) == 2
    assert err.getvalue().startswith("tecoa: error: Published row 1") and err.getvalue().count("\n") == 1

def test_the_zoo_published_numbers_reach_the_leaderboard(capsys):
    "Every published number of the zoo passes the leaderboard's checks; one whose source states no ε is left out with a sentence."
    from tecoa_nb.leaderboard import default_published, published_table
    from tecoa_nb.zoo import published_rows
    rows = default_published()
    table = published_table(rows)                   # raises on a row it cannot read
    assert len(table) == len(rows) and len(rows) > 0
    dropped = [r for r in published_rows() if r["metric"] == "robust" and r.get("eps") is None]
    assert len(rows) == len(published_rows()) - len(dropped)
    if dropped: assert "state no ε" in capsys.readouterr().out
    assert set(table.model) <= {r["model"] for r in published_rows()}
