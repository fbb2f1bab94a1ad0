"""Corpus pieces that need no rendering: MIDI bytes, key finding, arranging, captions, splits."""

from __future__ import annotations

import random
import struct

import pytest

from maskgmt.data.attributes import (
    INSTRUMENTS,
    REGISTER_WORDS,
    TEMPO_WORDS,
    pitch_class_name,
    register_word,
    tempo_word,
)
from maskgmt.data.corpus import CorpusConfig, PieceNotes, plan_clip, write_caption
from maskgmt.data.corpus.arrange import (
    ACCOMPANIMENT_INSTRUMENTS,
    PLAYABLE_RANGE,
    RANGE_SLACK,
    REGISTER_BANDS,
    TEMPO_BANDS,
    ClipAttributes,
    cycled,
    weighted_median,
)
from maskgmt.data.corpus.bass import derive_bass
from maskgmt.data.corpus.build import piece_for_clip
from maskgmt.data.corpus.captions import SOLO_WORDS, TEMPLATES
from maskgmt.data.corpus.keyfind import find_key
from maskgmt.data.corpus.midi import TICKS_PER_QUARTER, MidiNote, midi_file_bytes
from maskgmt.data.corpus.selection import split_pieces

# "Twinkle, twinkle" in C major, 4/4: quarter notes, half notes at phrase ends.
_TWINKLE = [60, 60, 67, 67, 69, 69, 67, None, 65, 65, 64, 64, 62, 62, 60, None]


def _piece(*, bass: bool = False, shift: int = 0) -> PieceNotes:
    melody, t = [], 0.0
    for p in _TWINKLE:
        if p is None:
            melody[-1] = (melody[-1][0], 2.0, melody[-1][2])
        else:
            melody.append((t, 1.0, p + shift))
        t += 1.0
    return PieceNotes(
        piece="test/twinkle",
        source="essen",
        style="folk song",
        title="Twinkle",
        meter="4/4",
        bar_starts=(0.0, 4.0, 8.0, 12.0),
        length=16.0,
        tonic=shift % 12,
        mode="major",
        melody=tuple(melody),
        bass=((0.0, 8.0, 48 + shift), (8.0, 8.0, 43 + shift)) if bass else None,
    )


# ----------------------------------------------------------------------------- MIDI


def _events(data: bytes) -> list[tuple[int, bytes]]:
    """Decode our format-0 file: [(absolute tick, event bytes)] (no running status used)."""
    assert data[:4] == b"MThd"
    _, fmt, ntrks, division = struct.unpack(">IHHH", data[4:14])
    assert (fmt, ntrks, division) == (0, 1, TICKS_PER_QUARTER)
    assert data[14:18] == b"MTrk"
    (length,) = struct.unpack(">I", data[18:22])
    track, i, tick, out = data[22:], 0, 0, []
    assert len(track) == length
    while i < len(track):
        delta = 0
        while True:
            b = track[i]
            i += 1
            delta = (delta << 7) | (b & 0x7F)
            if b < 0x80:
                break
        tick += delta
        status = track[i]
        # meta: FF type len data; program change: 2 bytes; other channel messages: 3 bytes
        size = 3 + track[i + 2] if status == 0xFF else (2 if status >> 4 == 0xC else 3)
        out.append((tick, track[i : i + size]))
        i += size
    return out


def test_midi_file_has_notes_at_their_ticks_and_ends_where_asked():
    notes = [MidiNote(0.0, 1.0, 60, 90, 0), MidiNote(1.0, 1.0, 60, 80, 0)]
    notes.append(MidiNote(0.0, 4.0, 36, 70, 1))  # cut at end=3
    events = _events(midi_file_bytes(notes, bpm=120, programs={0: 40, 1: 42}, end=3.0))
    ons = [(t, e[1], e[2]) for t, e in events if e[0] >> 4 == 0x9]
    offs = [(t, e[1]) for t, e in events if e[0] >> 4 == 0x8]
    assert ons == [(0, 60, 90), (0, 36, 70), (480, 60, 80)]
    assert sorted(offs) == [(480, 60), (960, 60), (1440, 36)]
    # A repeated pitch is released before it is struck again at the same tick.
    at_480 = [e[0] >> 4 for t, e in events if t == 480]
    assert at_480 == [0x8, 0x9]
    assert events[-1] == (1440, b"\xff\x2f\x00")
    tempo = next(e for _, e in events if e[:2] == b"\xff\x51")
    assert int.from_bytes(tempo[3:], "big") == 500_000  # 120 BPM = 0.5 s a quarter
    assert [e[1] for _, e in events if e[0] >> 4 == 0xC] == [40, 42]


def test_midi_rejects_nonsense_tempo():
    with pytest.raises(ValueError, match="bpm"):
        midi_file_bytes([], bpm=0, programs={0: 0}, end=1.0)


# ----------------------------------------------------------------------------- keys


@pytest.mark.parametrize("shift", [0, 3, 7, 10])
def test_find_key_follows_transposition(shift):
    notes = [(p + shift, d) for _, d, p in _piece().melody]
    assert find_key(notes) == (shift % 12, "major")


def test_the_prior_settles_an_ambiguous_passage_only():
    # F F E E D D C- (Twinkle's third bar and a half): C major, F major or D minor alike.
    ambiguous = [(p, 1.0) for p in (65, 65, 64, 64, 62, 62)] + [(60, 2.0)]
    assert find_key(ambiguous) == (0, "major")
    assert find_key(ambiguous, prior=(5, "major"), prior_weight=0.1) == (5, "major")
    assert find_key(ambiguous, prior=(2, "minor"), prior_weight=0.1) == (2, "minor")
    # A clear D major passage (F#, C#) stays in D major whatever the prior says.
    d_major = [(p, 1.0) for p in (62, 66, 69, 74, 73, 71, 69, 66, 64, 62)] + [(62, 3.0)]
    assert find_key(d_major, prior=(0, "major"), prior_weight=0.1) == (2, "major")


def test_find_key_tells_minor_from_its_relative_major():
    # A harmonic-minor melody: A B C D E F G# A, landing on A.
    a_minor = [(p, 1.0) for p in (57, 59, 60, 62, 64, 65, 68, 69, 64, 60, 57)] + [(57, 3.0)]
    assert find_key(a_minor) == (9, "minor")


# ----------------------------------------------------------------------------- arranging


def test_bands_sit_inside_their_words_and_ranges_cover_every_instrument():
    for word, (lo, hi) in TEMPO_BANDS.items():
        assert tempo_word(lo) == tempo_word(hi) == word
    for word, (lo, hi) in REGISTER_BANDS.items():
        assert register_word(lo) == register_word(hi) == word
    assert set(PLAYABLE_RANGE) == set(INSTRUMENTS)
    assert set(ACCOMPANIMENT_INSTRUMENTS) <= set(INSTRUMENTS)


def test_cycled_visits_every_value_once_per_cycle():
    seen = [cycled(TEMPO_WORDS, i, seed=5, name="tempo") for i in range(9)]
    for c in range(3):
        assert sorted(seen[3 * c : 3 * c + 3]) == sorted(TEMPO_WORDS)
    assert seen != [cycled(TEMPO_WORDS, i, seed=6, name="tempo") for i in range(9)]


def test_weighted_median_weighs_by_duration():
    assert weighted_median([(0, 3.0, 60), (3, 1.0, 72), (4, 1.0, 74)]) == 60.0


@pytest.mark.parametrize("index", range(24))
def test_plan_records_what_it_plays(index):
    plan = plan_clip(_piece(bass=True), index=index, seconds=6.0, seed=3, accompaniment_prob=0.5)
    a = plan.attributes
    heard = a.tempo_bpm * 6.0 / 60  # quarter notes
    melody = [n for n in plan.notes if n.channel == 0]
    assert a.tempo_word == tempo_word(a.tempo_bpm)
    assert a.melody_median_pitch == weighted_median(
        [(n.onset, min(n.duration, heard - n.onset), n.pitch) for n in melody if n.onset < heard]
    )
    assert a.register == register_word(a.melody_median_pitch)
    # Twinkle spans a sixth, so every register fits every instrument's range.
    lo, hi = PLAYABLE_RANGE[a.instrument]
    assert lo - RANGE_SLACK <= min(n.pitch for n in melody)
    assert max(n.pitch for n in melody) <= hi + RANGE_SLACK
    # The clip opens on a note, the piece loops to fill it without gaps, and the MIDI runs
    # past the clip's end.
    onsets = sorted(n.onset for n in melody)
    assert (
        onsets[0] == 0.0 and max(b - a for a, b in zip(onsets[:-1], onsets[1:], strict=True)) <= 2.0
    )
    assert max(n.onset + n.duration for n in melody) >= heard and plan.end > heard
    bass = [n for n in plan.notes if n.channel == 1]
    assert bool(bass) == (a.accompaniment is not None)
    if bass:
        assert max(n.pitch for n in bass) < a.melody_median_pitch
        assert a.accompaniment in ACCOMPANIMENT_INSTRUMENTS and a.accompaniment != a.instrument


@pytest.mark.parametrize("index", range(6))
def test_a_clip_that_plays_the_whole_tune_is_in_its_key(index):
    # 20 s at >= 56 BPM is more than the 16 quarters of the tune, wherever the clip starts.
    plan = plan_clip(_piece(bass=True), index=index, seconds=20.0, seed=0, accompaniment_prob=0.5)
    a = plan.attributes
    assert (a.key, a.mode) == (pitch_class_name(a.transpose), "major")


def test_plan_covers_instruments_and_words_evenly():
    plans = [
        plan_clip(_piece(), index=i, seconds=4.0, seed=0, accompaniment_prob=0.5).attributes
        for i in range(63)
    ]
    assert {p.instrument for p in plans} == set(INSTRUMENTS)
    for word in TEMPO_WORDS:
        assert sum(p.tempo_word == word for p in plans) == 21
    assert {p.register for p in plans} == set(REGISTER_WORDS)


def test_plan_is_a_function_of_seed_and_index():
    kw = dict(index=7, seconds=4.0, accompaniment_prob=0.5)
    one = plan_clip(_piece(), seed=1, **kw)
    assert one == plan_clip(_piece(), seed=1, **kw)
    assert one.midi_bytes() == plan_clip(_piece(), seed=1, **kw).midi_bytes()
    assert one != plan_clip(_piece(), seed=2, **kw)


def test_derived_bass_follows_the_harmony_of_the_melody():
    bass = derive_bass(_piece())
    # 4/4 bars change chord every half bar: 8 segments over 4 bars.
    assert [b[0] for b in bass] == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0]
    # C C G G | A A G - | F F E E | D D C -  ->  I I? V? ... the first and last are the tonic.
    roots = [b[2] % 12 for b in bass]
    assert roots[0] == 0 and roots[-1] == 0 and roots[4] == 5  # F F over IV
    assert all(r in (0, 2, 4, 5, 7, 9, 11) for r in roots)


# ----------------------------------------------------------------------------- captions


def _attributes(rng: random.Random) -> ClipAttributes:
    bpm = float(rng.randint(50, 170))
    median = float(rng.randint(40, 85))
    instrument = rng.choice(list(INSTRUMENTS))
    return ClipAttributes(
        piece="p",
        style=rng.choice(["chorale", "folk song", "reel", "jig", "hornpipe"]),
        title="",
        instrument=instrument,
        tempo_bpm=bpm,
        tempo_word=tempo_word(bpm),
        register=register_word(median),
        melody_median_pitch=median,
        transpose=0,
        key=pitch_class_name(rng.randrange(12)),
        mode=rng.choice(["major", "minor"]),
        meter=rng.choice(["3/4", "4/4", "6/8", "2/2"]),
        dynamics=rng.choice(["soft", "medium", "loud"]),
        velocity=80,
        accompaniment=rng.choice([None, "piano" if instrument != "piano" else "cello"]),
    )


def test_captions_name_every_attribute_in_varied_shapes():
    rng = random.Random(0)
    texts = set()
    for i in range(300):
        a = _attributes(rng)
        text = write_caption(a, random.Random(i))
        texts.add(text)
        assert any(n.lower() in text.lower() for n in INSTRUMENTS[a.instrument].names), text
        assert a.tempo_word in text or f"{round(a.tempo_bpm)} BPM" in text, text
        assert a.register in text and a.meter in text and a.dynamics in text.lower(), text
        assert f"{a.key} {a.mode}" in text, text
        if a.accompaniment is None:
            assert any(w in text for w in SOLO_WORDS), text
        else:
            assert any(n in text for n in INSTRUMENTS[a.accompaniment].names), text
        assert "  " not in text and " ," not in text and "a a" not in text.lower(), text
    assert len(texts) == 300
    # Each template shows up; same rng seed, same caption.
    firsts = {write_caption(_attributes(random.Random(0)), random.Random(i)) for i in range(60)}
    assert len(firsts) >= len(TEMPLATES)
    a = _attributes(random.Random(1))
    assert write_caption(a, random.Random(9)) == write_caption(a, random.Random(9))


def test_articles_agree_with_the_next_word():
    rng = random.Random(0)
    for i in range(200):
        text = write_caption(_attributes(rng), random.Random(i))
        for vowel_word in ("oboe", "accordion", "alto", "electric", "unhurried", "acoustic"):
            assert f" a {vowel_word}" not in text and not text.startswith(f"A {vowel_word}")


# ----------------------------------------------------------------------------- splits


@pytest.mark.parametrize("n", [1, 2, 3, 4, 10, 41])
def test_splits_put_each_piece_in_one_split_and_fill_all_once_possible(n):
    pieces = [f"p{i}" for i in range(n)]
    split = split_pieces(pieces, CorpusConfig(clips=n))
    assert set(split) == set(pieces)
    used = set(split.values())
    assert "train" in used
    if n >= 3:
        assert used == {"train", "valid", "test"}
    assert split == split_pieces(list(reversed(pieces)), CorpusConfig(clips=n))


def test_config_rejects_bad_values_with_the_argument_name():
    with pytest.raises(ValueError, match="clips"):
        CorpusConfig(clips=0)
    with pytest.raises(ValueError, match="seconds"):
        CorpusConfig(clips=1, seconds=0.0)
    with pytest.raises(ValueError, match="sources"):
        CorpusConfig(clips=1, sources=("bach", "mozart"))


def test_small_builds_deal_clips_round_robin_and_large_ones_in_blocks():
    small = CorpusConfig(clips=5, clips_per_piece=4)
    assert [piece_for_clip(i, small, small.n_pieces) for i in range(5)] == [0, 1, 2, 0, 1]
    large = CorpusConfig(clips=10, clips_per_piece=3)
    assert [piece_for_clip(i, large, large.n_pieces) for i in range(10)] == [
        0, 0, 0, 1, 1, 1, 2, 2, 2, 3
    ]  # fmt: skip
