"Each library notebook under nbs/ (not the study notebooks) runs as one test, skipping `slow` and `notest` cells."
import os
from pathlib import Path
import pytest
from nbdev.test import test_nb as run_notebook  # renamed so pytest does not collect it

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT/"nbs").glob("*.ipynb"))

@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_library_notebook(nb, monkeypatch):
    # The notebooks run in this process; a notebook that defines a command registers its own copy of it, whose
    # globals are the notebook's. Put the package's commands back afterwards, so later tests that patch a module
    # (e.g. `tecoa_nb.train_cli.train`) reach the function they patch, whatever order the tests run in.
    import tecoa_nb.cli as cli
    cli._load_commands()                            # the package's own registrations first, into the kept registry
    monkeypatch.setattr(cli, "_COMMANDS", dict(cli._COMMANDS))
    monkeypatch.chdir(nb.parent)
    ok, secs = run_notebook(nb, skip_flags=["slow", "notest"], do_print=False)
    assert ok, f"{nb.name} failed (see the traceback above)"
