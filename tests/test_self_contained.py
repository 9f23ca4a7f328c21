"""The repository stands on its own: no tracked text file points outside it or speaks of how the project was made.

A reader who clones the repository has only what it holds, so every tracked text file (Markdown, notebooks, Python,
YAML, TOML, shell, JSON, CI scripts) is read as text and must not contain
- a relative path whose parent steps (`..`) climb above the repository root, or land on something the repository
  does not hold (such as a `shared` folder beside or inside it);
- an absolute path into a home or work directory (a path on the machine that wrote the file);
- design or protocol notes kept elsewhere: an upper-case DESIGN or PROTOCOL Markdown file, or an invariant cited by
  number from such notes (the invariants are numbered in docs/design.md, the protocol is docs/protocol.md);
- tracker phrasing: an issue by number, or a target or number credited to an issue.

Left out, with the reason: generated run outputs, `papermill_runs/<profile>/` and `figures/<profile>/`. They record
where a run happened (papermill writes the absolute paths it was given into the executed notebook) and are rewritten
by `tecoa reproduce`; what they copy from the study notebooks is checked at its source, `nbs/studies/`.
"""
import re, subprocess
from pathlib import Path, PurePosixPath
import pytest

ROOT = Path(__file__).resolve().parents[1]
TEXT_SUFFIXES = {".md", ".ipynb", ".py", ".yaml", ".yml", ".toml", ".sh", ".json", ".txt", ".cfg", ".ini"}
MAX_BYTES = 5_000_000                                      # larger files are data, not text anyone reads

def _generated(path:str) -> bool:
    "Run outputs: anything below a profile folder of papermill_runs/ or figures/ (the manifests themselves are checked)."
    parts = PurePosixPath(path).parts
    return parts[0] == "figures" or (parts[0] == "papermill_runs" and len(parts) > 2)

def tracked_text_files(root:Path=ROOT) -> list[str]:
    "Tracked text files of the repository at `root`, generated run outputs left out."
    out = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, text=True, check=True).stdout
    files = [f for f in out.split("\0") if f]
    keep = []
    for f in files:
        p = PurePosixPath(f)
        if _generated(f) or not (p.suffix in TEXT_SUFFIXES or p.parts[0] == ".ci"): continue
        if (root/f).is_file() and (root/f).stat().st_size <= MAX_BYTES: keep.append(f)
    return keep

def _tracked_prefixes(files) -> set[str]:
    "Every tracked file and every folder above one, as POSIX paths relative to the root."
    out = set()
    for f in files:
        p = PurePosixPath(f)
        out.add(str(p)); out.update(str(q) for q in p.parents if str(q) != ".")
    return out

PHRASES = [
    (re.compile(r"DESIGN\s+invariants?"), "a design invariant cited from notes outside the repository (say 'invariant N in docs/design.md' or state the rule)"),
    (re.compile(r"\b(?:DESIGN|PROTOCOL)\.md\b"), "design or protocol notes outside the repository (the project's own are docs/design.md and docs/protocol.md)"),
    (re.compile(r"\bissues?\s*#\s*\d+|\bissues?\s+\d+\b", re.I), "an issue by number"),
    (re.compile(r"\bthe\s+issue\b", re.I), "a reference to an issue (say what the target or rule is, not where it came from)"),
    (re.compile(r"kept\s+outside\s+the\s+repository", re.I), "material said to live elsewhere"),
    (re.compile(r"(?<![\w.~%-])/(?:work|home|Users|mnt|scratch)/[\w.-]"), "an absolute path on the machine that wrote the file"),
]
UP = re.compile(r"(?<![\w.])((?:\.\./)+)([\w.-]+)")

def problems(path:str, text:str, tracked:set[str]) -> list[str]:
    "What in `text` (the content of tracked file `path`) refers outside the repository or to how it was made."
    found, line = [], lambda m: text.count("\n", 0, m.start()) + 1
    for rx, why in PHRASES:
        for m in rx.finditer(text): found.append(f"{path}:{line(m)}: {m.group(0)!r}: {why}")
    here = PurePosixPath(path).parent
    for m in UP.finditer(text):
        ups, name = len(m.group(1)) // 3, m.group(2)
        depth = len([p for p in here.parts if p != "."])
        if ups > depth:
            found.append(f"{path}:{line(m)}: {m.group(0)!r}: a path above the repository root"); continue
        target = PurePosixPath(*here.parts[:depth - ups], name) if depth - ups else PurePosixPath(name)
        if str(target) not in tracked:
            found.append(f"{path}:{line(m)}: {m.group(0)!r}: a relative path to {target}, which the repository does not hold")
    return found

def scan(root:Path=ROOT) -> list[str]:
    files = tracked_text_files(root)
    tracked = _tracked_prefixes(subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True, check=True).stdout.split())
    out = []
    for f in files:
        out += problems(f, (root/f).read_text(encoding="utf-8", errors="replace"), tracked)
    return out

def test_the_scan_sees_what_it_should():
    "The checks themselves, on made-up lines: each kind of reference is caught, and ordinary text is not."
    tracked = {"nbs", "nbs/studies", "bench", "bench/cpu.json", "docs", "docs/design.md", "README.md", "tecoa_nb"}
    bad = {"README.md": "see `" + ".." + "/shared/PROTOCOL" + ".md`",
           "nbs/01_data.ipynb": "(DESIGN" + " invariant 1)",
           "nbs/x.ipynb": "see " + ".." + "/shared/notes",             # inside the root, but nothing the repository holds
           "docs/a.md": "on the H200 of " + "issue" + " 10",
           "bench/a.sh": "# checks " + "issue" + " #3's targets",
           "tests/a.py": "Against the " + "issue that set it",
           "nbs/studies/a.ipynb": '"runs_dir = \\"' + "/work" + '/main/papermill_runs\\""'}
    for path, text in bad.items(): assert problems(path, text, tracked), (path, text)
    ok = {"nbs/13_bench.ipynb": 'Path("' + ".." + '/bench/cpu.json")',
          "tecoa_nb/bench.py": "# File to edit: " + ".." + "/nbs/13_bench.ipynb.",
          "nbs/studies/a.ipynb": "../" + "../docs/design.md",
          "README.md": "invariant 2 in docs/design.md; see https://github.com/home/x and ~/.cache/tecoa_nb; a design choice",
          "tests/b.py": "subprocess.Popen(args, start_new_session=True)"}
    for path, text in ok.items(): assert not problems(path, text, tracked), (path, text, problems(path, text, tracked))

def test_generated_outputs_are_left_out():
    assert _generated("papermill_runs/mini/main.ipynb") and _generated("figures/mini/claims.md")
    assert not _generated("papermill_runs/mini.yaml") and not _generated("nbs/studies/10_aggregate.ipynb")

@pytest.mark.skipif(not (ROOT/".git").exists(), reason="needs a git checkout to list the tracked files")
def test_no_tracked_text_refers_outside_the_repository():
    found = scan()
    assert not found, "the repository must stand on its own; rephrase these:\n" + "\n".join(found)
