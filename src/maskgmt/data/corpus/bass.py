"""A simple bass line for a lone melody: one diatonic chord root per half bar or bar."""

from __future__ import annotations

from maskgmt.data.corpus.scores import Note, PieceNotes

# Diatonic triads as (root, chord tones), in semitones above the tonic, with a small prior
# that favours the primary chords when the melody fits several equally well.
_CHORDS: dict[str, tuple[tuple[int, tuple[int, ...], float], ...]] = {
    "major": (
        (0, (0, 4, 7), 0.30),  # I
        (7, (7, 11, 2), 0.20),  # V
        (5, (5, 9, 0), 0.15),  # IV
        (9, (9, 0, 4), 0.05),  # vi
        (2, (2, 5, 9), 0.0),  # ii
    ),
    "minor": (
        (0, (0, 3, 7), 0.30),  # i
        (7, (7, 11, 2), 0.20),  # V (harmonic minor)
        (5, (5, 8, 0), 0.15),  # iv
        (3, (3, 7, 10), 0.05),  # III
        (8, (8, 0, 3), 0.0),  # VI
        (10, (10, 2, 5), 0.0),  # VII
    ),
}
BASS_LOW = 36  # C2: derived roots lie in C2..B2 before the clip's octave placement


def _segments(piece: PieceNotes) -> list[tuple[float, float]]:
    # Harmony changes per bar, or per half bar in long bars (4/4, 4/2), as folk accompaniment does.
    edges = [*piece.bar_starts, piece.length]
    half = piece.bar_length >= 4.0
    out = []
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        if b <= a:
            continue
        if half and b - a >= piece.bar_length:
            out += [(a, a + (b - a) / 2), (a + (b - a) / 2, b)]
        else:
            out.append((a, b))
    return out


def derive_bass(piece: PieceNotes) -> tuple[Note, ...]:
    """Chord roots under `piece.melody`, one note per segment (quarter notes, MIDI pitches).

    Each segment takes the diatonic chord whose tones cover the most melody duration there;
    a segment where the melody rests keeps the previous chord.
    """
    chords = _CHORDS[piece.mode]
    bass: list[Note] = []
    previous = chords[0]
    for start, end in _segments(piece):
        weight = [0.0] * 12
        for onset, dur, pitch in piece.melody:
            overlap = min(onset + dur, end) - max(onset, start)
            if overlap > 0:
                weight[(pitch - piece.tonic) % 12] += overlap
        if sum(weight) > 0:
            span = end - start
            previous = max(chords, key=lambda c: sum(weight[t] for t in c[1]) + c[2] * span)
        pitch = BASS_LOW + (piece.tonic + previous[0]) % 12
        bass.append((start, end - start, pitch))
    return tuple(bass)
