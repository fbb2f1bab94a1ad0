"""Which pieces of the music21 corpus the builder may use, listed without importing music21."""

from __future__ import annotations

import importlib.util
import random
import re
from dataclasses import dataclass
from pathlib import Path

# source -> what its music is called in captions (Ryan's tunes name their dance instead).
SOURCES: dict[str, str] = {
    "bach": "chorale",  # Bach's four-part chorales: soprano melody, real bass line
    "essen": "folk song",  # Essen folk song collection (ABC): monophonic melodies
    "ryans": "fiddle tune",  # Ryan's Mammoth Collection (ABC): reels, jigs, hornpipes
}

# Ryan's tune files end in their dance type, e.g. "AcaciaReel.abc".
_DANCES = {
    "Reel": "reel",
    "Jig": "jig",
    "Slipjig": "slip jig",
    "Hornpipe": "hornpipe",
    "Strathspey": "strathspey",
    "Clog": "clog dance",
    "Fling": "fling",
}
_X_FIELD = re.compile(rb"^X:\s*(\d+)", re.MULTILINE)


@dataclass(frozen=True)
class PieceRef:
    """One parseable unit of the music21 corpus."""

    piece: str  # stable id written to manifests, e.g. "bach/bwv66.6", "essenFolksong/han1#3"
    source: str  # a key of SOURCES
    path: str  # file path inside the music21 corpus folder
    number: int | None  # tune number (ABC "X:" field) inside a multi-tune file
    style: str  # what the music is called in captions: "chorale", "folk song", "reel", ...


def corpus_root() -> Path:
    """The folder of the corpus that ships inside the installed music21 package."""
    spec = importlib.util.find_spec("music21")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "music21 is not installed; the corpus builder reads the scores shipped inside it. "
            "Fix: pip install 'music21>=9'"
        )
    root = Path(next(iter(spec.submodule_search_locations))) / "corpus"
    if not root.is_dir():
        raise FileNotFoundError(f"music21 is installed but has no corpus folder at {root}")
    return root


def _list_source(root: Path, source: str) -> list[PieceRef]:
    if source == "bach":
        return [
            PieceRef(f"bach/{p.stem}", source, f"bach/{p.name}", None, SOURCES[source])
            for p in sorted((root / "bach").glob("*.mxl"))
        ]
    if source == "essen":
        refs = []
        for p in sorted((root / "essenFolksong").glob("*.abc")):
            # Test files of the collection repeat tunes found elsewhere.
            if p.stem.startswith("test"):
                continue
            for num in sorted({int(m) for m in _X_FIELD.findall(p.read_bytes())}):
                refs.append(
                    PieceRef(
                        f"essenFolksong/{p.stem}#{num}",
                        source,
                        f"essenFolksong/{p.name}",
                        num,
                        SOURCES[source],
                    )
                )
        return refs
    if source == "ryans":
        refs = []
        for p in sorted((root / "ryansMammoth").glob("*.abc")):
            dance = next((w for s, w in _DANCES.items() if p.stem.endswith(s)), SOURCES[source])
            refs.append(
                PieceRef(f"ryansMammoth/{p.stem}", source, f"ryansMammoth/{p.name}", None, dance)
            )
        return refs
    raise ValueError(f"unknown corpus source {source!r}; expected one of {sorted(SOURCES)}")


def candidate_pieces(sources: tuple[str, ...], seed: int) -> list[PieceRef]:
    """All pieces of `sources` in a seeded order that alternates between sources.

    Alternating keeps small builds varied (a chorale, a folk song, a dance tune, ...).
    """
    root = corpus_root()
    queues = []
    for source in sources:
        refs = _list_source(root, source)
        random.Random(f"{seed}/pieces/{source}").shuffle(refs)
        queues.append(refs)
    out: list[PieceRef] = []
    for i in range(max((len(q) for q in queues), default=0)):
        out.extend(q[i] for q in queues if i < len(q))
    return out
