"""Caption-cue study: two `maskgmt eval` folders of the same clips and seeds, clip by clip.

For each folder: key accuracy; tempo accuracy overall, for captions that state a number
("96 BPM") and for those that give only a word ("slow"); the rank correlation of the
estimated tempo and of the note rate with the caption's BPM; and the shuffled control. Then
the second folder minus the first on every attribute (paired bootstrap over clips,
`decode_study.paired`). Writes JSON:

    python bench/cue_study.py WORK/control/eval WORK/clock/eval --out WORK/cue_study_clock.json
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from decode_study import paired  # noqa: E402
from maskgmt.eval.attributes import is_correct  # noqa: E402

_NUMBER = re.compile(r"\d+\s*BPM", re.IGNORECASE)  # the corpus states a number as "96 BPM"


def _rows(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "estimates.jsonl").read_text().splitlines()]


def _interval(values: np.ndarray, rng: np.random.Generator, resamples: int = 1000) -> list:
    """Mean (in points) with its 95 % percentile-bootstrap interval."""
    idx = rng.integers(0, len(values), size=(resamples, len(values)))
    low, high = np.percentile(values[idx].mean(1), [2.5, 97.5]) * 100
    return [round(float(values.mean() * 100), 1), round(float(low), 1), round(float(high), 1)]


def _spearman(a: np.ndarray, b: np.ndarray) -> float | None:
    keep = np.isfinite(a) & np.isfinite(b)
    if keep.sum() < 3:
        return None
    ra, rb = (np.argsort(np.argsort(x[keep])) for x in (a, b))
    return round(float(np.corrcoef(ra, rb)[0, 1]), 3)


def _spearman_interval(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> list | None:
    """Rank correlation of a and b with its 95 % bootstrap interval over clips."""
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    if len(a) < 3:
        return None
    boots = [_spearman(a[i], b[i]) for i in rng.integers(0, len(a), size=(1000, len(a)))]
    low, high = np.percentile([x for x in boots if x is not None], [2.5, 97.5])
    return [_spearman(a, b), round(float(low), 3), round(float(high), 3)]


def _by_band(notes: np.ndarray, bands: list, rng: np.random.Generator) -> dict:
    """Mean notes/s per caption tempo word, with intervals, and fast / slow."""
    out = {}
    for word in ("slow", "moderate", "fast"):
        x = notes[np.array([b == word for b in bands]) & np.isfinite(notes)]
        if len(x):
            idx = rng.integers(0, len(x), size=(1000, len(x)))
            low, high = np.percentile(x[idx].mean(1), [2.5, 97.5])
            out[word] = [round(float(x.mean()), 3), round(float(low), 3), round(float(high), 3)]
    if "slow" in out and "fast" in out:
        out["fast_over_slow"] = round(out["fast"][0] / out["slow"][0], 3)
    return out


def summarise(folder: Path, *, seed: int = 0) -> dict:
    """Tempo figures of one eval folder (see the module docstring)."""
    rows, rng = _rows(folder), np.random.default_rng(seed)
    asked = np.array([r["reference"]["tempo"] or np.nan for r in rows], float)
    numbered = np.array([bool(_NUMBER.search(r["text"])) for r in rows])
    bands = [r["reference"].get("tempo_word") for r in rows]
    out: dict = {"clips": len(rows), "captions_with_a_number": int(numbered.sum())}
    for source in ("generated", "shuffled", "real", "codec"):
        if source not in rows[0]:
            continue
        ok = np.array([is_correct("tempo", r[source].get("tempo"), r["reference"]["tempo"])
                       for r in rows], float)  # fmt: skip
        est = np.array([r[source].get("tempo") or np.nan for r in rows], float)
        notes = np.array([r[source].get("notes_per_s") or np.nan for r in rows], float)
        key_ok = np.array([is_correct("key", r[source].get("key"), r["reference"]["key"])
                           for r in rows], float)  # fmt: skip
        out[source] = {
            "key_accuracy": _interval(key_ok, rng),
            "tempo_accuracy": _interval(ok, rng),
            "with_a_number": _interval(ok[numbered], rng) if numbered.any() else None,
            "word_only": _interval(ok[~numbered], rng) if (~numbered).any() else None,
            "spearman_tempo_vs_caption_bpm": _spearman(est, asked),
            "spearman_notes_vs_caption_bpm": _spearman_interval(notes, asked, rng),
            "notes_per_s_by_tempo_word": _by_band(notes, bands, rng),
            "median_estimated_bpm": round(float(np.nanmedian(est)), 1),
        }
    return out


def paired_note_tempo(base: Path, other: Path, *, seed: int = 0) -> list:
    """Rank correlation of notes/s with the caption's BPM, other minus base, resampling the
    same clips for both -> [difference, low, high]."""
    a, b = _rows(base), _rows(other)
    asked = np.array([r["reference"]["tempo"] or np.nan for r in a], float)
    na = np.array([r["generated"].get("notes_per_s") or np.nan for r in a], float)
    nb = np.array([r["generated"].get("notes_per_s") or np.nan for r in b], float)
    rng = np.random.default_rng(seed)
    diffs = []
    for i in rng.integers(0, len(a), size=(1000, len(a))):
        x, y = _spearman(nb[i], asked[i]), _spearman(na[i], asked[i])
        if x is not None and y is not None:
            diffs.append(x - y)
    low, high = np.percentile(diffs, [2.5, 97.5])
    point = _spearman(nb, asked) - _spearman(na, asked)
    return [round(point, 3), round(float(low), 3), round(float(high), 3)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path)
    parser.add_argument("other", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    result = {
        "base": {"folder": str(args.base), **summarise(args.base)},
        "other": {"folder": str(args.other), **summarise(args.other)},
        "other_minus_base": paired(args.base, args.other),
        "other_minus_base_notes_vs_bpm_spearman": paired_note_tempo(args.base, args.other),
    }
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
