"""Turn a parsed piece into one clip: instrument, tempo, register, dynamics, accompaniment."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from maskgmt.data.attributes import (
    DYNAMICS_WORDS,
    INSTRUMENTS,
    REGISTER_WORDS,
    TEMPO_WORDS,
    pitch_class_name,
    register_word,
    tempo_word,
)
from maskgmt.data.corpus.bass import derive_bass
from maskgmt.data.corpus.keyfind import find_key
from maskgmt.data.corpus.midi import MidiNote, midi_file_bytes
from maskgmt.data.corpus.scores import Note, PieceNotes

# Comfortable melody range per instrument (MIDI numbers); the register chosen for a clip must
# keep the transposed melody inside it, give or take RANGE_SLACK, so no instrument is heard far
# outside what it can really play.
PLAYABLE_RANGE: dict[str, tuple[int, int]] = {
    "piano": (28, 100),
    "electric piano": (33, 96),
    "harpsichord": (36, 88),
    "vibraphone": (53, 89),
    "marimba": (45, 96),
    "church organ": (36, 96),
    "accordion": (48, 89),
    "nylon guitar": (40, 81),
    "steel guitar": (40, 83),
    "violin": (55, 98),
    "cello": (36, 76),
    "string ensemble": (36, 96),
    "trumpet": (54, 84),
    "french horn": (36, 77),
    "alto sax": (49, 81),
    "clarinet": (50, 91),
    "oboe": (58, 91),
    "flute": (60, 96),
    "pan flute": (60, 93),
    "square lead": (36, 96),
    "sawtooth lead": (36, 96),
}
RANGE_SLACK = 2

# Instruments that can carry a bass line under the melody.
ACCOMPANIMENT_INSTRUMENTS: tuple[str, ...] = (
    "piano",
    "electric piano",
    "harpsichord",
    "church organ",
    "accordion",
    "nylon guitar",
    "steel guitar",
    "cello",
    "string ensemble",
    "french horn",
)

# Values are drawn well inside each word's band (edges in attributes.py) so an estimator
# that is slightly off still reads back the same word.
TEMPO_BANDS: dict[str, tuple[int, int]] = {
    "slow": (56, 72),
    "moderate": (88, 110),
    "fast": (132, 168),
}
REGISTER_BANDS: dict[str, tuple[float, float]] = {
    "low": (43.0, 52.0),
    "middle": (58.0, 68.0),
    "high": (75.0, 84.0),
}
VELOCITY_BANDS: dict[str, tuple[int, int]] = {
    "soft": (40, 52),
    "medium": (66, 80),
    "loud": (96, 110),
}
ACCENT = 6  # extra velocity on each bar's first beat
ACCOMPANIMENT_BELOW = 19  # semitones the bass line sits under the melody's median
ACCOMPANIMENT_SOFTER = 14  # velocity the bass line gives up to the melody
# How much the whole score's key is favoured when reading the key of a clip's notes (a
# correlation bonus, see keyfind.find_key). On 150 ten-second clips an audio key estimator
# agreed with 71% of the labels made this way and with 65% of the score's own keys.
KEY_PRIOR_WEIGHT = 0.1
FROM_START_PROB = 0.5  # else the clip starts at the first note of a random bar
# Notes keep sounding this long past the clip's end, so the cut falls inside the music, not in
# a release tail.
TAIL_SECONDS = 0.5
MELODY_CHANNEL, BASS_CHANNEL = 0, 1


@dataclass(frozen=True)
class ClipAttributes:
    """Everything a manifest row records about one clip besides its audio and caption."""

    piece: str
    style: str  # "chorale", "folk song", "reel", ...
    title: str
    instrument: str  # key of INSTRUMENTS
    tempo_bpm: float  # quarter notes per minute (whole numbers)
    tempo_word: str
    register: str
    melody_median_pitch: float  # duration-weighted median of the heard melody, MIDI number
    transpose: int  # semitones applied to the score
    key: str  # tonic of the heard notes (after transposition), e.g. "F#"
    mode: str  # "major" | "minor"
    meter: str
    dynamics: str
    velocity: int  # the melody's base MIDI velocity
    accompaniment: str | None  # key of INSTRUMENTS, or None for a solo melody


@dataclass(frozen=True)
class ClipPlan:
    """A clip ready to render: attributes plus the notes to play."""

    index: int
    seconds: float
    attributes: ClipAttributes
    notes: tuple[MidiNote, ...]
    end: float  # quarter notes written to the MIDI track (seconds + TAIL_SECONDS)

    def midi_bytes(self) -> bytes:
        """The clip as a Standard MIDI File."""
        a = self.attributes
        programs = {MELODY_CHANNEL: INSTRUMENTS[a.instrument].program}
        if a.accompaniment is not None:
            programs[BASS_CHANNEL] = INSTRUMENTS[a.accompaniment].program
        num, den = (int(x) for x in a.meter.split("/"))
        return midi_file_bytes(
            list(self.notes), bpm=a.tempo_bpm, programs=programs, end=self.end, meter=(num, den)
        )


def cycled(values: Sequence, index: int, *, seed: int, name: str):
    """The index-th value of a stream that visits every value once per cycle, seeded order.

    Balanced like a deck of cards: over any len(values) consecutive clips each value appears
    once, so small corpora still cover every instrument and word evenly.
    """
    n = len(values)
    order = list(values)
    random.Random(f"{seed}/{name}/{index // n}").shuffle(order)
    return order[index % n]


def weighted_median(notes: Sequence[Note]) -> float:
    """Duration-weighted median MIDI pitch (what a frame-wise pitch tracker hears)."""
    pairs = sorted((p, d) for _, d, p in notes)
    half = sum(d for _, d in pairs) / 2
    acc = 0.0
    for pitch, dur in pairs:
        acc += dur
        if acc >= half:
            return float(pitch)
    raise ValueError("weighted_median: expected at least one note with a positive duration")


def _loop(notes: Sequence[Note], *, period: float, start: float, end: float) -> list[Note]:
    # Repeat the piece every `period` quarter notes from `start`, keeping what begins before `end`.
    out: list[Note] = []
    for k in range(int(math.ceil((end + start) / period)) + 1):
        shift = k * period - start
        out += [(on + shift, d, p) for on, d, p in notes if 0 <= on + shift < end]
    return out


def _start_offset(piece: PieceNotes, rng: random.Random) -> float:
    """Where the clip starts in the piece (quarter notes): always on a sounding note, so the
    clip never opens with a bar of silence."""
    onsets = sorted({n[0] for n in piece.melody + (piece.bass or ())})
    if rng.random() < FROM_START_PROB or len(piece.bar_starts) < 2:
        return onsets[0]
    bar = piece.bar_starts[rng.randrange(1, len(piece.bar_starts))]
    return next((t for t in onsets if t >= bar), onsets[0])


def _fit_register(
    heard: Sequence[Note],
    played: Sequence[Note],
    instrument: str,
    preferred: str,
    rng: random.Random,
) -> tuple[str, int]:
    """(register word, transposition) that puts the median of the `heard` melody in the
    `preferred` register, or the nearest register where the instrument can play every
    `played` note (the heard ones and those that sound on past the cut)."""
    median = weighted_median(heard)
    low = min(p for *_, p in played)
    high = max(p for *_, p in played)
    lo, hi = PLAYABLE_RANGE[instrument]
    order = sorted(
        REGISTER_WORDS,
        key=lambda w: (
            abs(REGISTER_WORDS.index(w) - REGISTER_WORDS.index(preferred)) * 2
            + (REGISTER_WORDS.index(w) > REGISTER_WORDS.index(preferred))
        ),
    )
    for word in order:
        band_lo, band_hi = REGISTER_BANDS[word]
        t_min = max(math.ceil(band_lo - median), lo - RANGE_SLACK - low)
        t_max = min(math.floor(band_hi - median), hi + RANGE_SLACK - high)
        if t_min <= t_max:
            return word, rng.randint(t_min, t_max)
    # The melody is too wide for this instrument anywhere: keep the register, centre it.
    band_lo, band_hi = REGISTER_BANDS[preferred]
    return preferred, round((band_lo + band_hi) / 2 - median)


def _place_bass(bass: Sequence[Note], *, melody_median: float, instrument: str) -> int | None:
    """Octave shift (semitones) that puts the bass line under the melody and inside the
    instrument's range, nearest ACCOMPANIMENT_BELOW under the melody; None if there is none."""
    if not bass:
        return None
    lo, hi = PLAYABLE_RANGE[instrument]
    low = min(p for *_, p in bass)
    high = max(p for *_, p in bass)
    target = melody_median - ACCOMPANIMENT_BELOW - weighted_median(bass)
    fits = [
        octave
        for octave in range(-48, 49, 12)
        if lo - RANGE_SLACK <= low + octave
        and high + octave <= hi + RANGE_SLACK
        and high + octave < melody_median
    ]
    return min(fits, key=lambda octave: (abs(octave - target), octave), default=None)


def plan_clip(
    piece: PieceNotes, *, index: int, seconds: float, seed: int, accompaniment_prob: float
) -> ClipPlan:
    """Choose the attributes of clip `index` (drawn from `piece`) and the notes that realise them.

    Instrument, tempo word, register and dynamics cycle in balanced, seeded orders over the
    clip index; the rest is drawn from a generator seeded by (seed, index), so a clip never
    depends on which other clips are built.
    """
    rng = random.Random(f"{seed}/clip/{index}")
    instrument = cycled(list(INSTRUMENTS), index, seed=seed, name="instrument")
    tempo_name = cycled(TEMPO_WORDS, index, seed=seed, name="tempo")
    bpm = float(rng.randint(*TEMPO_BANDS[tempo_name]))
    dynamics = cycled(DYNAMICS_WORDS, index, seed=seed, name="dynamics")
    velocity = rng.randint(*VELOCITY_BANDS[dynamics])

    # Start where the music starts, or at a later bar's first note; loop the piece
    # (period = its length) to fill the clip.
    start = _start_offset(piece, rng)
    heard = seconds * bpm / 60.0  # quarter notes the clip lasts
    end = (seconds + TAIL_SECONDS) * bpm / 60.0
    melody = _loop(piece.melody, period=piece.length, start=start, end=end)
    # What sounds before the cut, each note clipped there: the median and key describe this.
    heard_melody = [(on, min(d, heard - on), p) for on, d, p in melody if on < heard] or [melody[0]]

    preferred = cycled(REGISTER_WORDS, index, seed=seed, name="register")
    register, transpose = _fit_register(heard_melody, melody, instrument, preferred, rng)
    median = weighted_median(heard_melody) + transpose
    if register_word(median) != register:  # only when _fit_register had no choice
        register = register_word(median)

    downbeats = {round(b, 6) for b in piece.bar_starts}

    def velocity_of(onset: float, base: int) -> int:
        # Piece-relative position decides the accent, so every loop is phrased alike.
        accent = ACCENT if round((onset + start) % piece.length, 6) in downbeats else 0
        return min(max(base + accent + rng.randint(-3, 3), 1), 127)

    notes = [
        MidiNote(on, d, p + transpose, velocity_of(on, velocity), MELODY_CHANNEL)
        for on, d, p in melody
    ]

    accompaniment = None
    if rng.random() < accompaniment_prob:
        source = piece.bass if piece.bass is not None else derive_bass(piece)
        bass = [
            (on, d, p + transpose)
            for on, d, p in _loop(source, period=piece.length, start=start, end=end)
        ]
        choices = [i for i in ACCOMPANIMENT_INSTRUMENTS if i != instrument]
        rng.shuffle(choices)
        for candidate in choices:  # the first that can play the line under this melody
            octave = _place_bass(bass, melody_median=median, instrument=candidate)
            if octave is not None:
                accompaniment = candidate
                base = max(velocity - ACCOMPANIMENT_SOFTER, 20)
                notes += [
                    MidiNote(on, d, p + octave, velocity_of(on, base), BASS_CHANNEL)
                    for on, d, p in bass
                ]
                break

    # The key is what the clip lets you hear: the notes sounding in it (melody and bass),
    # read with the score's key as a tie-breaker, since an excerpt may sit in another key.
    tonic, mode = find_key(
        ((n.pitch, min(n.duration, heard - n.onset)) for n in notes if n.onset < heard),
        prior=((piece.tonic + transpose) % 12, piece.mode),
        prior_weight=KEY_PRIOR_WEIGHT,
    )
    attributes = ClipAttributes(
        piece=piece.piece,
        style=piece.style,
        title=piece.title,
        instrument=instrument,
        tempo_bpm=bpm,
        tempo_word=tempo_word(bpm),
        register=register,
        melody_median_pitch=median,
        transpose=transpose,
        key=pitch_class_name(tonic),
        mode=mode,
        meter=piece.meter,
        dynamics=dynamics,
        velocity=velocity,
        accompaniment=accompaniment,
    )
    return ClipPlan(
        index=index, seconds=seconds, attributes=attributes, notes=tuple(notes), end=end
    )
