"Docs that quote committed results in prose quote numbers the generated tables hold: a rerun that moves them fails here until the prose is read again."
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEC = re.compile(r"(?<![\w.])[+\-−]?(\d+\.\d+)(?![\w.])")
# each doc's results section, and the generated outputs its sentences are read from
QUOTES = {"docs/beyond.md": ("## What the committed `mini` results say", ["figures/mini", "figures/research", "README.md"]),
          "docs/scaling.md": ("## Where it stops, on the committed results", ["figures/scale", "figures/mini", "README.md"])}

def _generated(sources) -> set[str]:
    text = ""
    for s in sources:
        p = ROOT/s
        text += "\n".join(f.read_text() for f in sorted(p.glob("*.md"))) if p.is_dir() else p.read_text()
    return set(DEC.findall(text))

def _quoted(doc:str, heading:str) -> list[str]:
    text = (ROOT/doc).read_text()
    assert heading in text, f"{doc} lost its section {heading!r}"
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    return DEC.findall(re.sub(r"`[^`]*`", "", section))    # code spans name files and settings, not results

def test_quoted_numbers_are_in_the_generated_tables():
    for doc, (heading, sources) in QUOTES.items():
        quoted, have = _quoted(doc, heading), _generated(sources)
        assert quoted, f"{doc}: no numbers found under {heading!r}"
        missing = sorted(set(quoted) - have, key=float)
        assert not missing, f"{doc} quotes {missing}, which no generated table in {sources} holds; read the section against the results again"
