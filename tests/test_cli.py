"The `tecoa` console command, run as a user would, in a subprocess."
import json, subprocess, sys, os
from pathlib import Path
import tecoa_nb

def _tecoa(*args, **kw):
    exe = Path(sys.executable).parent/"tecoa"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "tecoa_nb.cli"]
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=600, **kw)

def test_help_lists_commands():
    r = _tecoa("--help")
    assert r.returncode == 0, r.stderr
    for c in ("info", "reproduce"): assert c in r.stdout

def test_version():
    r = _tecoa("--version")
    assert r.returncode == 0 and tecoa_nb.__version__ in r.stdout

def test_info_is_json():
    r = _tecoa("info")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["tecoa_nb"] == tecoa_nb.__version__
