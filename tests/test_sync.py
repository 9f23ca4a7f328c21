"Notebooks are the source: nbdev-export must not change the library, nbdev-clean must not change a notebook."
import filecmp, shutil, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

def _snapshot(root):
    files = list((root/"tecoa_nb").rglob("*.py")) + list((root/"nbs").rglob("*.ipynb"))
    return {p.relative_to(root): p.read_bytes() for p in files if "__pycache__" not in p.parts and ".ipynb_checkpoints" not in p.parts}

def test_export_and_clean_leave_tree_unchanged(tmp_path):
    dst = tmp_path/"repo"
    shutil.copytree(ROOT, dst, ignore=shutil.ignore_patterns(".git", ".venv", "__pycache__", "papermill_runs", "figures", "*.egg-info"))
    before = _snapshot(dst)
    for cmd in ("nbdev-export", "nbdev-clean"):
        exe = BIN/cmd if (BIN/cmd).exists() else cmd
        r = subprocess.run([str(exe)], cwd=dst, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, f"{cmd} failed:\n{r.stdout}\n{r.stderr}"
    after = _snapshot(dst)
    changed = sorted(str(k) for k in set(before) | set(after) if before.get(k) != after.get(k))
    assert not changed, f"run `nbdev-export && nbdev-clean` and commit; these files change: {changed}"
