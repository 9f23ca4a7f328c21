"Each module does one job: the commands that only load a model do not pull in the study, and the study's parts live where they are named."
import subprocess, sys, os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def _python(code:str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TECOA_PROFILE": "smoke"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, env=env, cwd=str(ROOT))

def test_tinyclip_commands_do_not_import_the_study():
    r = _python("import sys\n"
                "from tecoa_nb.evaluate_cli import load_for_eval\n"
                "from tecoa_nb.train_cli import TrainSettings, _load_bundle\n"
                "from tecoa_nb.models import zero_shot_classifier\n"
                "clf, info = load_for_eval('tinyclip')\n"
                "assert info['identity']['profile'] == 'smoke', info\n"
                "b = _load_bundle(TrainSettings(model='tinyclip', tinyclip_profile='smoke'), 'cpu')\n"
                "zero_shot_classifier('tinyclip', classnames=['a', 'b'])\n"
                "print(sorted(m for m in sys.modules if m in ('tecoa_nb.study', 'tecoa_nb.runs')))")
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.strip().splitlines()[-1] == "[]", r.stdout

def test_one_name_per_meaning():
    "Two prompt templates, each named once and used where it was before; two attack readers, each with its own name."
    import inspect
    from tecoa_nb import data, models, train, evaluate
    assert data.get_dataset("imagenet").templates == [data.PAPER_TEMPLATE] == ["This is a photo of a {}"]
    assert data.get_dataset("world_objects").templates == data.get_dataset("world_shape").templates == [data.WORLD_TEMPLATE] == ["a photo of a {}."]
    assert inspect.signature(models.zero_shot_classifier).parameters["templates"].default == (data.WORLD_TEMPLATE,)
    assert not hasattr(data, "DEFAULT_TEMPLATE")
    assert not hasattr(train, "as_attack") and train.training_attack(None).keep_best is False   # None: the paper's training attack
    assert evaluate.as_attack(None).name == "clean"                                              # None: clean images

def test_one_margin_for_every_reader():
    "The sanity flags, the tables, the claims and `tecoa evaluate --summarize` read chance and noise from one statistics module."
    import re
    from tecoa_nb import stats, sanity, plots
    assert sanity.margin is stats.margin and sanity.clears_chance is stats.clears_chance and not hasattr(sanity, "chance_margin")
    assert plots.with_chance is stats.with_chance and plots.clears_chance_count is stats.clears_chance_count
    assert "from tecoa_nb.stats import clears_chance_count" in (ROOT/"tecoa_nb"/"evaluate_cli.py").read_text()
    import nbformat
    agg = "\n".join(c.source for c in nbformat.read(str(ROOT/"nbs"/"studies"/"10_aggregate.ipynb"), as_version=4).cells if c.cell_type == "code")
    assert not re.search(r"^def (margin|gt|more_robust|f|fk|stat)\(", agg, re.M) and "from tecoa_nb.stats import" in agg
