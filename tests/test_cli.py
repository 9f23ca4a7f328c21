"The `tecoa` console command, run as a user would, in a subprocess."
import json, subprocess, sys, os
from pathlib import Path
import tecoa_nb

def _cmd() -> list[str]:
    exe = Path(sys.executable).parent/"tecoa"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "tecoa_nb.cli"]

def _tecoa(*args, **kw):
    return subprocess.run(_cmd() + list(args), capture_output=True, text=True, timeout=600, **kw)

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

# --- `tecoa reproduce`: its own lines only, its profiles from the manifests, a dry run that checks prerequisites ------
ROOT = Path(__file__).resolve().parents[1]

def _toy_project(tmp_path):
    "A throw-away project: one run that writes its result, one that raises."
    import nbformat
    from nbformat.v4 import new_notebook, new_code_cell
    (tmp_path/"nbs").mkdir(); (tmp_path/"papermill_runs").mkdir()
    def nb(name, body):
        n = new_notebook(cells=[new_code_cell("x = 1\nresult_path = None", metadata={"tags": ["parameters"]}), new_code_cell(body)])
        n.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(n, str(tmp_path/"nbs"/name))
    nb("ok.ipynb", "import json\njson.dump({'value': x}, open(result_path, 'w'))")
    nb("bad.ipynb", "raise ValueError('boom from the notebook')")
    p = tmp_path/"papermill_runs"/"toy.yaml"
    p.write_text("profile: toy\nruns:\n  - {id: good, notebook: nbs/ok.ipynb}\n  - {id: broken, notebook: nbs/bad.ipynb}\n")
    return p

def test_reproduce_prints_no_kernel_warnings(tmp_path):
    r = _tecoa("reproduce", "--profile", str(_toy_project(tmp_path)), "--jobs", "1", cwd=str(tmp_path))
    out = r.stdout + r.stderr
    assert r.returncode == 1, out                                     # a run failed ...
    assert "boom from the notebook" in out, out                       # ... and its error is shown
    assert "without encryption" not in out and "WARNING" not in r.stderr, r.stderr

def test_reproduce_help_lists_every_profile():
    r = _tecoa("reproduce", "--help")
    assert r.returncode == 0, r.stderr
    text = " ".join(r.stdout.split())
    for p in sorted((ROOT/"papermill_runs").glob("*.yaml")): assert p.stem in text, (p.stem, text)

PAPER_RUNS = ["main", "eps_sweep", "attack_strength", "loss_grid", "prompt_design", "partial_finetuning", "data_size", "pseudo_labels", "beyond"]

def _paper_inputs(root:Path):
    "Empty stand-ins for the paper profile's data (every dataset's folder, ImageNet's train and val) and ViT-B/32's cached weights."
    from tecoa_nb.data import _SOURCES
    data, hf = root/"data", root/"hf"
    for s in _SOURCES.values(): (data/s.folder).mkdir(parents=True, exist_ok=True)
    for sub in ("train", "val"): (data/"imagenet"/sub).mkdir(parents=True, exist_ok=True)
    repo = hf/"models--timm--vit_base_patch32_clip_224.openai"
    (repo/"refs").mkdir(parents=True); (repo/"refs"/"main").write_text("abc123")
    (repo/"snapshots"/"abc123").mkdir(parents=True); (repo/"snapshots"/"abc123"/"open_clip_model.safetensors").write_bytes(b"x")
    return data, hf

def _paper_dry_run(tmp_path, data, hf):
    env = {**os.environ, "TECOA_DATA": str(data), "HF_HUB_CACHE": str(hf), "HF_HOME": str(tmp_path/"hf_home"),
           "CUDA_VISIBLE_DEVICES": "", "TECOA_OFFLINE": "1"}
    r = _tecoa("reproduce", "--profile", "paper", "--dry-run", cwd=str(ROOT), env=env)
    assert r.returncode == 0, r.stderr
    said = {l.split(" cannot run: ")[0]: l for l in r.stdout.splitlines() if l.split(" cannot run: ")[0] in PAPER_RUNS}
    table = {l.split()[0]: l for l in r.stdout.splitlines() if l.split() and l.split()[0] in PAPER_RUNS}
    assert all("cannot run" in table[k] for k in said), table
    return said

def test_dry_run_says_what_each_paper_run_lacks(tmp_path):
    lines = _paper_dry_run(tmp_path, tmp_path/"nothing", tmp_path/"no_hf")
    assert sorted(lines) == sorted(PAPER_RUNS), lines
    for run, l in lines.items():
        assert "would run" not in l and "will run" not in l, l
        assert "no CUDA device" in l and f"ImageNet train images not found at {tmp_path/'nothing'/'imagenet'/'train'}" in l, l
        assert "ViT-B-32 'openai' weights not in the Hugging Face cache" in l, l
    data, hf = _paper_inputs(tmp_path)               # with the data and the weights there, only the GPU is missing
    for run, l in _paper_dry_run(tmp_path, data, hf).items():
        assert "no CUDA device" in l and "ImageNet" not in l and "weights" not in l and "would run" not in l, l

def test_dry_run_would_run_with_everything_there(tmp_path, monkeypatch):
    from tecoa_nb import runs
    data, hf = _paper_inputs(tmp_path)
    monkeypatch.setenv("TECOA_DATA", str(data)); monkeypatch.setenv("HF_HUB_CACHE", str(hf))
    monkeypatch.setattr(runs, "cuda_available", lambda: True, raising=False)
    rows = runs.reproduce("paper", root=ROOT, dry_run=True, echo=lambda *a: None)
    assert [r["status"] for r in rows] == ["would run"] * len(PAPER_RUNS), rows

def test_a_closed_pipe_ends_quietly():
    "`tecoa info | head -0`: the reader leaves before the command writes; no BrokenPipe traceback."
    p = subprocess.Popen(_cmd() + ["info"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()                                  # before the interpreter has even started: every write meets a closed pipe
    err = p.stderr.read().decode(); p.wait(timeout=600)
    assert "Traceback" not in err and "BrokenPipe" not in err, err
