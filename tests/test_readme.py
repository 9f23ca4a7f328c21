"""The front page has one source: README.md is the rendering of nbs/index.ipynb (`tecoa_nb.readme`), and what other
tools read from it is there: the test command `.ci/run` runs, the markers the aggregation writes between, the paper's
training config the README names."""
import re, shutil
from pathlib import Path
import pytest
from tecoa_nb.readme import readme_drift, render_readme, set_generated, markers, read_notebook

ROOT = Path(__file__).resolve().parents[1]
INDEX, README = ROOT/"nbs"/"index.ipynb", ROOT/"README.md"

def test_readme_is_the_rendering_of_the_index():
    drift = readme_drift(INDEX, README)
    assert drift is None, "README.md is not the rendering of nbs/index.ipynb; edit the notebook, then run `tecoa readme`:\n" + drift

def _fenced_after(text:str, marker:str) -> str:
    "The first ```sh block after `marker`, as .ci/run reads it."
    m = re.search(re.escape(marker) + r".*?^```sh\n(.*?)^```", text, flags=re.S | re.M)
    return m[1].strip() if m else ""

def test_readme_holds_the_commands_ci_and_readers_run():
    text = README.read_text(encoding="utf-8")
    test_cmd, main_cmd = _fenced_after(text, "<!-- test-command -->"), _fenced_after(text, "<!-- main-command -->")
    assert test_cmd.endswith("pytest -q -rs") and 'pip install -e ".[dev]"' in test_cmd, test_cmd
    assert main_cmd.endswith("tecoa reproduce") and "pip install -e ." in main_cmd, main_cmd
    for cmd in ("tecoa evaluate ", "tecoa train --config configs/paper_tecoa.yaml"): assert cmd in text, cmd

@pytest.mark.parametrize("name", ["results:mini:headline", "results:mini", "results:scale"])
def test_the_index_holds_each_generated_block_once(name):
    "The aggregation writes these blocks into the index; each marker pair must be there once, in one markdown cell."
    start, end = markers(name)
    cells = [c for c in read_notebook(INDEX)["cells"] if start in "".join(c["source"])]
    assert len(cells) == 1 and cells[0]["cell_type"] == "markdown" and end in "".join(cells[0]["source"]), name
    assert "".join(cells[0]["source"]).count(start) == 1

def test_the_headline_is_on_the_first_screen():
    text = README.read_text(encoding="utf-8")
    head = text.find(markers("results:mini:headline")[0])
    assert head >= 0 and re.findall(r"^## .*$", text[:head], flags=re.M) == ["## Headline (`mini` profile)"], \
        "the headline figure and table come right after the introduction, before any other section"
    assert text.find(markers("results:mini:headline")[1]) < text.find("## Run it")

def test_generated_blocks_go_through_the_index(tmp_path):
    "set_generated on a copy of the front page rewrites the notebook's block and the README renders it."
    (tmp_path/"nbs").mkdir(); shutil.copy(INDEX, tmp_path/"nbs"/"index.ipynb"); shutil.copy(README, tmp_path/"README.md")
    assert set_generated("results:mini:headline", ["**a new headline**"], readme=tmp_path/"README.md")
    text = (tmp_path/"README.md").read_text(encoding="utf-8")
    assert "**a new headline**" in text and "**a new headline**" in (tmp_path/"nbs"/"index.ipynb").read_text(encoding="utf-8")
    assert text == render_readme(tmp_path/"nbs"/"index.ipynb") and text.count("<!-- results:mini:headline:start -->") == 1

def test_the_paper_config_is_the_default_recipe():
    "configs/paper_tecoa.yaml, which the README gives for training TeCoA on ImageNet, is `tecoa train`'s defaults (the paper's recipe)."
    from tecoa_nb.train_cli import TrainSettings, train_settings
    assert train_settings(ROOT/"configs"/"paper_tecoa.yaml") == TrainSettings()

def test_the_aggregation_writes_the_front_page(tmp_path):
    "The aggregation of the committed `mini` results, pointed at a copy of the front page, rewrites its blocks in the index and renders the README from it."
    import papermill
    (tmp_path/"nbs").mkdir(); shutil.copy(INDEX, tmp_path/"nbs"/"index.ipynb"); shutil.copy(README, tmp_path/"README.md")
    set_generated("results:mini:headline", ["stale headline"], readme=tmp_path/"README.md")
    set_generated("results:mini", ["stale results"], readme=tmp_path/"README.md")
    papermill.execute_notebook(str(ROOT/"nbs/studies/10_aggregate.ipynb"), str(tmp_path/"aggregate.ipynb"), kernel_name="python3",
                               cwd=str(ROOT), progress_bar=False, parameters=dict(profile="mini", runs_dir=str(ROOT/"papermill_runs/mini"),
                               figures_dir=str(tmp_path/"figures/mini"), readme_path=str(tmp_path/"README.md")))
    text = (tmp_path/"README.md").read_text(encoding="utf-8")
    assert "stale" not in text and text == render_readme(tmp_path/"nbs"/"index.ipynb")
    head = text[text.index(markers("results:mini:headline")[0]):text.index(markers("results:mini:headline")[1])]
    assert "](figures/mini/main_results.png)" in head and "| TeCoA-FT |" in head and "claims, checked" not in head
    rest = text[text.index(markers("results:mini")[0]):text.index(markers("results:mini")[1])]
    assert "**The paper's claims, checked**" in rest and "| TeCoA-FT |" in rest
