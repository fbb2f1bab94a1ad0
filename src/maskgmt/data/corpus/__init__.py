"""Offline captioned music corpus: music21 scores rendered by FluidSynth, captioned from attributes.

`build_corpus(out_dir, clips=N, seconds=10, seed=0)` writes clips/*.wav, train/valid/test.jsonl
and report.json. Importing this package does not import music21 (it is imported when parsing).
"""

from __future__ import annotations

from maskgmt.data.corpus.arrange import ClipAttributes, ClipPlan, plan_clip
from maskgmt.data.corpus.build import CorpusReport, build_corpus, default_cache_dir
from maskgmt.data.corpus.captions import write_caption
from maskgmt.data.corpus.catalog import SOURCES, PieceRef, candidate_pieces
from maskgmt.data.corpus.config import SPLITS, CorpusConfig
from maskgmt.data.corpus.render import (
    DYNAMICS_RMS_DBFS,
    Renderer,
    find_fluidsynth,
    find_soundfont,
)
from maskgmt.data.corpus.scores import PieceNotes, load_piece, parse_piece

__all__ = [
    "DYNAMICS_RMS_DBFS",
    "SOURCES",
    "SPLITS",
    "ClipAttributes",
    "ClipPlan",
    "CorpusConfig",
    "CorpusReport",
    "PieceNotes",
    "PieceRef",
    "Renderer",
    "build_corpus",
    "candidate_pieces",
    "default_cache_dir",
    "find_fluidsynth",
    "find_soundfont",
    "load_piece",
    "parse_piece",
    "plan_clip",
    "write_caption",
]
