"""Musical attributes shared by the corpus builder and the evaluator: names, words, thresholds."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Instrument:
    """A General MIDI instrument the corpus renders with."""

    program: int  # GM program number, 0-based (0 = Acoustic Grand Piano)
    family: str  # coarse family the evaluator's classifier predicts
    names: tuple[str, ...]  # caption words; the first is the canonical one


INSTRUMENTS: dict[str, Instrument] = {
    "piano": Instrument(0, "keyboard", ("piano", "grand piano")),
    "electric piano": Instrument(4, "keyboard", ("electric piano", "Rhodes-style electric piano")),
    "harpsichord": Instrument(6, "keyboard", ("harpsichord",)),
    "vibraphone": Instrument(11, "mallets", ("vibraphone", "vibes")),
    "marimba": Instrument(12, "mallets", ("marimba",)),
    "church organ": Instrument(19, "organ", ("church organ", "pipe organ")),
    "accordion": Instrument(21, "organ", ("accordion",)),
    "nylon guitar": Instrument(24, "guitar", ("nylon-string guitar", "classical guitar")),
    "steel guitar": Instrument(25, "guitar", ("steel-string guitar", "acoustic guitar")),
    "violin": Instrument(40, "strings", ("violin", "fiddle")),
    "cello": Instrument(42, "strings", ("cello", "violoncello")),
    "string ensemble": Instrument(48, "strings", ("string ensemble", "string section")),
    "trumpet": Instrument(56, "brass", ("trumpet",)),
    "french horn": Instrument(60, "brass", ("French horn", "horn")),
    "alto sax": Instrument(65, "reed", ("alto saxophone", "alto sax")),
    "clarinet": Instrument(71, "reed", ("clarinet",)),
    "oboe": Instrument(68, "reed", ("oboe",)),
    "flute": Instrument(73, "pipe", ("flute",)),
    "pan flute": Instrument(75, "pipe", ("pan flute", "pan pipes")),
    "square lead": Instrument(80, "synth", ("square-wave synth lead", "chiptune lead")),
    "sawtooth lead": Instrument(81, "synth", ("sawtooth synth lead", "saw lead synth")),
}
FAMILIES: tuple[str, ...] = tuple(sorted({i.family for i in INSTRUMENTS.values()}))

# Tempo words by quarter-note BPM: slow < 80 <= moderate < 120 <= fast.
TEMPO_EDGES: tuple[float, float] = (80.0, 120.0)
TEMPO_WORDS: tuple[str, str, str] = ("slow", "moderate", "fast")

# Register words by the melody's median MIDI pitch: low < 55 (G3) <= middle < 72 (C5) <= high.
REGISTER_EDGES: tuple[float, float] = (55.0, 72.0)
REGISTER_WORDS: tuple[str, str, str] = ("low", "middle", "high")

DYNAMICS_WORDS: tuple[str, str, str] = ("soft", "medium", "loud")
MODES: tuple[str, str] = ("major", "minor")
PITCH_CLASSES: tuple[str, ...] = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def _word(value: float, edges: tuple[float, float], words: tuple[str, str, str]) -> str:
    if value < edges[0]:
        return words[0]
    return words[1] if value < edges[1] else words[2]


def tempo_word(bpm: float) -> str:
    """Quarter-note BPM -> 'slow' | 'moderate' | 'fast'."""
    return _word(bpm, TEMPO_EDGES, TEMPO_WORDS)


def register_word(median_midi_pitch: float) -> str:
    """Median melody pitch (MIDI number, may be fractional) -> 'low' | 'middle' | 'high'."""
    return _word(median_midi_pitch, REGISTER_EDGES, REGISTER_WORDS)


def pitch_class_name(pc: int) -> str:
    """Pitch class 0..11 (0 = C) -> the name used in manifests and captions."""
    return PITCH_CLASSES[pc % 12]


def pitch_class_of(name: str) -> int:
    """A tonic name ('F#', 'Gb', 'b-' in music21 spelling, ...) -> pitch class 0..11."""
    s = name.strip()
    if not s:
        raise ValueError("pitch_class_of: empty key name; expected a tonic such as 'C', 'F#', 'Bb'")
    base = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}.get(s[0].lower())
    if base is None:
        raise ValueError(
            f"pitch_class_of: {name!r} is not a tonic name; expected e.g. 'C', 'F#', 'Bb'"
        )
    for ch in s[1:]:
        if ch in "#♯":
            base += 1
        elif ch in "b-♭":
            base -= 1
        else:
            raise ValueError(f"pitch_class_of: {name!r} has unknown accidental {ch!r}")
    return base % 12
