"""Reusing real and codec analyses across evaluations: one numpy file per source and setting."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

import librosa
import numpy as np
import soxr

from maskgmt.eval.analyse import ClipAnalysis
from maskgmt.eval.attributes import ClipEstimate
from maskgmt.eval.instrument import InstrumentClassifier

# The modules whose code decides what `analyse` returns for a clip: editing any of them makes
# every cached analysis stale, so their text is part of the key.
ANALYSIS_MODULES = ("analyse", "attributes", "audio", "features", "key", "notes", "register",
                    "tempo", "cache")  # fmt: skip
_FLOATS = ("tempo_bpm", "median_pitch", "notes_per_s")
_STRINGS = ("key", "mode", "instrument_family")  # "" stands for None


def analysis_fingerprint() -> str:
    """A short hash of the analysis code and the libraries it leans on (librosa, soxr)."""
    h = hashlib.sha256(f"librosa {librosa.__version__} soxr {soxr.__version__}".encode())
    here = Path(__file__).parent
    for name in ANALYSIS_MODULES:
        h.update((here / f"{name}.py").read_bytes())
    return h.hexdigest()[:16]


def clip_key(audio: str | Path) -> str:
    """A manifest row's audio file -> the key of its cached analysis: resolved path, size and
    modification time (re-rendered or replaced audio misses the cache)."""
    path = Path(audio).resolve()
    if not path.is_file():
        raise FileNotFoundError(
            f"audio file {path} does not exist; check the manifest's 'audio' paths"
        )
    st = path.stat()
    return f"{path}|{st.st_size}|{st.st_mtime_ns}"


class AnalysisCache:
    """Analyses of one audio source under one setting (codec, classifier, analysis code), keyed
    per clip, in `folder/<source>-<hash>.npz` (numpy, read without pickle) with a JSON sidecar
    saying what the hash covers."""

    def __init__(
        self,
        folder: str | Path,
        source: str,
        *,
        codec_identity: dict | None = None,
        classifier: InstrumentClassifier | None = None,
        seconds: float | None = None,
    ):
        self.setting = {
            "seconds": seconds,  # how much of each clip was analysed (None: MAX_SECONDS)
            "source": source,
            "analysis": analysis_fingerprint(),
            "classifier": None if classifier is None else classifier.fingerprint(),
            "codec": codec_identity,
        }
        digest = hashlib.sha256(
            json.dumps(self.setting, sort_keys=True, default=str).encode()
        ).hexdigest()[:16]
        self.path = Path(folder) / f"{source}-{digest}.npz"
        self._entries: dict[str, ClipAnalysis] = _read(self.path) if self.path.is_file() else {}

    def get(self, keys: Sequence[str]) -> list[ClipAnalysis | None]:
        """Clip keys -> their cached analyses, None where missing."""
        return [self._entries.get(k) for k in keys]

    def put(self, keys: Sequence[str], analyses: Sequence[ClipAnalysis]) -> None:
        """Add analyses and rewrite the file (atomically: a crash never leaves half a file)."""
        if not keys:
            return
        stale = {k.rpartition("|")[0].rpartition("|")[0] for k in keys}  # replaced audio files
        self._entries = {
            k: a for k, a in self._entries.items()
            if k.rpartition("|")[0].rpartition("|")[0] not in stale
        }  # fmt: skip
        self._entries.update(zip(keys, analyses, strict=True))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".tmp{os.getpid()}")
        with open(tmp, "wb") as f:
            np.savez(f, **_arrays(self._entries))
        os.replace(tmp, self.path)
        sidecar = {**self.setting, "clips": len(self._entries)}
        self.path.with_suffix(".json").write_text(json.dumps(sidecar, indent=2, default=str))


def _arrays(entries: dict[str, ClipAnalysis]) -> dict[str, np.ndarray]:
    """Clip key -> analysis, as the columns of an .npz (n clips; mel_stats[n, D])."""
    est = [a.estimate for a in entries.values()]
    out = {"keys": np.array(list(entries), dtype=str)}
    out |= {f: np.array([getattr(e, f) for e in est], dtype=np.float64) for f in _FLOATS}
    out |= {f: np.array([getattr(e, f) or "" for e in est], dtype=str) for f in _STRINGS}
    out["mel_stats"] = np.stack([a.mel_stats for a in entries.values()])
    return out


def _read(path: Path) -> dict[str, ClipAnalysis]:
    """The .npz written by `put` -> clip key -> analysis. An unreadable file is a cache miss."""
    try:
        with np.load(path, allow_pickle=False) as z:
            cols = {k: z[k] for k in z.files}
        out = {}
        for i, key in enumerate(cols["keys"]):
            fields = {f: float(cols[f][i]) for f in _FLOATS}
            fields |= {f: str(cols[f][i]) or None for f in _STRINGS}
            out[str(key)] = ClipAnalysis(ClipEstimate(**fields), cols["mel_stats"][i].copy())
        return out
    except (OSError, ValueError, KeyError, TypeError):
        return {}
