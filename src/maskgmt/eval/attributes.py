"""Scored attributes: reference values from a manifest row, and what counts as a match."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from maskgmt.data.attributes import (
    INSTRUMENTS,
    pitch_class_name,
    pitch_class_of,
    register_word,
    tempo_word,
)
from maskgmt.eval.tempo import tempo_matches


@dataclass(frozen=True)
class ClipEstimate:
    """What the estimators read from one clip (any source)."""

    tempo_bpm: float  # quarter-note BPM, 0 for silence
    key: str | None  # tonic name, e.g. 'F#'; None for silence
    mode: str | None  # 'major' | 'minor'; None for silence
    median_pitch: float  # MIDI number of the melody's median, NaN for silence
    instrument_family: str | None  # None when no classifier was available
    notes_per_s: float  # note activity: top-voice note starts per second, 0 for silence

    def values(self) -> dict[str, object]:
        """Per-attribute estimated values, in the form `is_correct` compares; None where the
        audio gave no estimate (silence), which never counts as a match."""
        pitch, bpm = self.median_pitch, self.tempo_bpm
        return {
            "instrument_family": self.instrument_family,
            "tempo": bpm if bpm > 0 else None,
            "tempo_word": tempo_word(bpm) if bpm > 0 else None,
            "key": None if self.key is None else f"{self.key} {self.mode}",
            "mode": self.mode,
            "register": None if math.isnan(pitch) else register_word(pitch),
        }


# What each scored attribute means (also the row labels of the report).
ATTRIBUTES: dict[str, str] = {
    "instrument_family": "instrument family (classifier on timbre features)",
    "tempo": "tempo within 8% (x2, x3, /2, /3 forgiven; dotted-quarter beat in 6/8)",
    "tempo_word": "tempo word (slow/moderate/fast)",
    "key": "key (tonic and mode)",
    "mode": "mode (major/minor)",
    "register": "register word (low/middle/high)",
}


def reference_values(row: dict) -> dict[str, object]:
    """A manifest row -> per-attribute reference values; None where the row does not say."""

    def get(name: str):
        v = row.get(name)
        return None if v is None or v == "" else v

    family = get("instrument_family")
    if family is None and get("instrument") in INSTRUMENTS:
        family = INSTRUMENTS[row["instrument"]].family
    bpm = get("tempo_bpm")
    bpm = float(bpm) if bpm is not None and float(bpm) > 0 else None
    word = get("tempo_word") or (tempo_word(bpm) if bpm is not None else None)
    if bpm is not None and is_compound(get("meter")):
        # In 6/8, 9/8, 12/8 (and 3/8) the felt beat is the dotted quarter: 2/3 of the quarter-note
        # BPM the manifest records. Score the beat tracker against that level; the metrical
        # factors then also forgive the eighth-note level (x3) and the bar level.
        bpm *= 2.0 / 3.0
    key, mode = get("key"), get("mode")
    pitch = get("melody_median_pitch")
    reg = get("register") or (register_word(float(pitch)) if pitch is not None else None)
    return {
        "instrument_family": family,
        "tempo": bpm,
        "tempo_word": word,
        # Respelled the way the estimator names tonics, so 'Gb' in a manifest equals 'F#'.
        "key": f"{pitch_class_name(pitch_class_of(key))} {mode}" if key and mode else None,
        "mode": mode,
        "register": reg,
    }


def is_compound(meter: object) -> bool:
    """'6/8', '9/8', '12/8', '3/8' -> True: meters whose beat is a dotted note."""
    if not isinstance(meter, str) or "/" not in meter:
        return False
    num, _, den = meter.partition("/")
    return num.strip().isdigit() and den.strip() in {"8", "16"} and int(num) % 3 == 0


def is_correct(attribute: str, estimate: object, reference: object) -> bool:
    """Whether an estimated value matches the reference for `attribute`."""
    if estimate is None:
        return False
    if attribute == "tempo":
        return tempo_matches(float(estimate), float(reference))
    return estimate == reference


def guess_matches(attribute: str, references: Sequence[object]) -> np.ndarray:
    """-> matches[C, n] bool: whether constant guess c (each distinct reference, sorted) matches
    reference i. Its best row mean is `chance_accuracy`; the bootstrap resamples that row."""
    guesses = sorted(set(references), key=str)
    return np.array([[is_correct(attribute, c, r) for r in references] for c in guesses], bool)


def chance_accuracy(attribute: str, references: Sequence[object]) -> float:
    """The best accuracy a constant guess could get on these references (the majority rate)."""
    refs = [r for r in references if r is not None]
    if not refs:
        return float("nan")
    return max(sum(is_correct(attribute, c, r) for r in refs) / len(refs) for c in set(refs))
