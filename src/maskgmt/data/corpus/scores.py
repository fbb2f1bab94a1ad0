"""Parse a music21 corpus piece once into a small note list (melody, bass, meter, key), cached."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from maskgmt.data.attributes import MODES
from maskgmt.data.corpus.catalog import PieceRef, corpus_root

# Bump when the extraction below changes, so stale cache files are not reused.
EXTRACT_VERSION = 1
MIN_MELODY_NOTES = 8
MAX_MELODY_SPAN = 28  # semitones; wider melodies fit no instrument's range once transposed

Note = tuple[float, float, int]  # (onset in quarter notes, duration in quarter notes, MIDI pitch)


@dataclass(frozen=True)
class PieceNotes:
    """What the corpus needs from one score; times in quarter notes from the piece's start."""

    piece: str
    source: str
    style: str
    title: str
    meter: str  # "3/4"
    bar_starts: tuple[float, ...]  # where each bar begins (the first may be a pickup)
    length: float  # quarter notes; looping the piece repeats every `length`
    tonic: int  # pitch class 0..11 (0 = C), music21's key analysis of the whole score (it
    # chooses the chords of a derived bass; a clip's own key comes from the notes it plays)
    mode: str  # "major" | "minor"
    melody: tuple[Note, ...]  # monophonic: each note ends before the next starts
    bass: tuple[Note, ...] | None  # the score's own bass part, or None for a single melody

    @property
    def bar_length(self) -> float:
        """Quarter notes per full bar, from the meter ("6/8" -> 3.0)."""
        num, den = (int(x) for x in self.meter.split("/"))
        return num * 4.0 / den


class ScoreSkipped(Exception):
    """A score that parses but does not suit the corpus (no meter, too few notes, ...)."""


def _part_notes(part) -> list[Note]:
    from music21 import harmony

    notes: list[Note] = []
    for n in part.stripTies().flatten().notes:
        if isinstance(n, harmony.Harmony):  # chord symbols are annotations, not sounding notes
            continue
        dur = float(n.quarterLength)
        if dur <= 0:  # grace notes carry no duration of their own
            continue
        notes.append((float(n.offset), dur, max(p.midi for p in n.pitches)))
    notes.sort()
    # Keep one line: the top note at each onset, cut where the next one starts.
    mono: list[Note] = []
    for onset, dur, pitch in notes:
        if mono and mono[-1][0] == onset:
            if pitch > mono[-1][2]:
                mono[-1] = (onset, dur, pitch)
            continue
        mono.append((onset, dur, pitch))
    return [
        (on, min(dur, mono[i + 1][0] - on) if i + 1 < len(mono) else dur, p)
        for i, (on, dur, p) in enumerate(mono)
    ]


def _pick_parts(score):
    parts = list(score.parts)
    if not parts:
        raise ScoreSkipped("score has no parts")
    names = [(p.partName or "").lower() for p in parts]
    melody = next((p for p, n in zip(parts, names, strict=True) if "soprano" in n), parts[0])
    bass = next((p for p, n in zip(parts, names, strict=True) if n.startswith("bass")), parts[-1])
    return melody, (bass if bass is not melody else None)


def parse_piece(ref: PieceRef) -> PieceNotes:
    """Parse `ref` with music21; raises ScoreSkipped when unsuitable, or music21's own error."""
    from music21 import converter, meter, stream

    score = converter.parse(str(corpus_root() / ref.path), number=ref.number)
    if not hasattr(score, "parts"):
        raise ScoreSkipped(f"parsed to a {type(score).__name__}, not a score")
    melody_part, bass_part = _pick_parts(score)
    meters = {
        ts.ratioString for ts in melody_part.recurse().getElementsByClass(meter.TimeSignature)
    }
    if len(meters) != 1:
        raise ScoreSkipped(f"needs exactly one time signature, found {sorted(meters) or 'none'}")
    melody = _part_notes(melody_part)
    if len(melody) < MIN_MELODY_NOTES:
        raise ScoreSkipped(f"melody has {len(melody)} notes, fewer than {MIN_MELODY_NOTES}")
    pitches = [p for _, _, p in melody]
    if max(pitches) - min(pitches) > MAX_MELODY_SPAN:
        raise ScoreSkipped(
            f"melody spans {max(pitches) - min(pitches)} semitones (> {MAX_MELODY_SPAN})"
        )
    bass = _part_notes(bass_part) if bass_part is not None else None
    if bass is not None and len(bass) < MIN_MELODY_NOTES:
        bass = None
    key = score.analyze("key")
    if key.mode not in MODES:
        raise ScoreSkipped(f"key analysis gave mode {key.mode!r}, not one of {MODES}")
    bar_starts = sorted(
        {float(m.offset) for m in melody_part.getElementsByClass(stream.Measure)} or {0.0}
    )
    end = max(on + dur for on, dur, _ in melody + (bass or []))
    title = score.metadata.title if score.metadata is not None else None
    if not title and ref.source == "bach":
        title = "BWV " + ref.piece.split("/bwv")[-1]  # the chorales carry no title of their own
    return PieceNotes(
        piece=ref.piece,
        source=ref.source,
        style=ref.style,
        title=str(title or ""),
        meter=meters.pop(),
        bar_starts=tuple(bar_starts),
        length=float(max(float(melody_part.highestTime), end)),
        tonic=key.tonic.pitchClass,
        mode=key.mode,
        melody=tuple(melody),
        bass=tuple(bass) if bass is not None else None,
    )


# ----------------------------------------------------------------------------- cache


def _cache_file(cache_dir: Path, ref: PieceRef) -> Path:
    # Keyed by the music21 version too: its parsers and key analysis change between releases.
    # (importlib.metadata, not `import music21`: a warm cache should not pay music21's import.)
    from importlib.metadata import version

    safe = ref.piece.replace("/", "__").replace("#", "_")
    return cache_dir / f"scores-v{EXTRACT_VERSION}-m21-{version('music21')}" / f"{safe}.json"


def _from_json(d: dict) -> PieceNotes:
    def notes(xs):
        return tuple((float(a), float(b), int(c)) for a, b, c in xs)

    return PieceNotes(
        **{k: d[k] for k in ("piece", "source", "style", "title", "meter", "mode")},
        bar_starts=tuple(float(x) for x in d["bar_starts"]),
        length=float(d["length"]),
        tonic=int(d["tonic"]),
        melody=notes(d["melody"]),
        bass=notes(d["bass"]) if d["bass"] is not None else None,
    )


def is_cached(ref: PieceRef, cache_dir: Path) -> bool:
    """Whether load_piece(ref, cache_dir) will answer from the cache without parsing."""
    return _cache_file(cache_dir, ref).is_file()


def _read_cached(path: Path) -> PieceNotes | str | None:
    """A cached answer, or None when the file is damaged (it is parsed and written again)."""
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
        return d["skipped"] if "skipped" in d else _from_json(d)
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError):
        return None


def load_piece(ref: PieceRef, cache_dir: Path | None) -> PieceNotes | str:
    """The piece's notes, or the reason it is skipped; parses once and caches either answer.

    Returns a str reason instead of raising so that a process pool can map it over pieces.
    """
    path = _cache_file(cache_dir, ref) if cache_dir is not None else None
    cached = _read_cached(path) if path is not None and path.is_file() else None
    if cached is not None:
        return cached
    try:
        result: PieceNotes | str = parse_piece(ref)
    except ScoreSkipped as e:
        result = str(e)
    except Exception as e:  # music21 raises many types on malformed files; all mean "skip it"
        result = f"failed to parse: {type(e).__name__}: {str(e)[:200]}"
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"skipped": result} if isinstance(result, str) else asdict(result)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(payload))
        os.replace(tmp, path)  # atomic: concurrent builds never read half a file
    return result
