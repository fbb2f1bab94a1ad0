"""Helpers of the corpus tests: the small build they share and how to read it back."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from maskgmt.data.corpus import SPLITS, CorpusReport, build_corpus

CLIPS = 12
SECONDS = 4.0
SEED = 0


@dataclass(frozen=True)
class Built:
    """A finished build: its folder, report, and manifest rows by split."""

    out: Path
    cache: Path
    report: CorpusReport
    rows: dict[str, list[dict]]

    @property
    def all_rows(self) -> list[dict]:
        return [r for s in SPLITS for r in self.rows[s]]


def read_rows(out: Path) -> dict[str, list[dict]]:
    return {
        s: [json.loads(line) for line in (out / f"{s}.jsonl").read_text().splitlines()]
        for s in SPLITS
    }


def build(out: Path, cache: Path) -> Built:
    report = build_corpus(
        out, clips=CLIPS, seconds=SECONDS, seed=SEED, workers=2, progress=False, cache_dir=cache
    )
    return Built(out=out, cache=cache, report=report, rows=read_rows(out))
