"""Estimators recover known attributes: exactly on synthetic tones, above chance on renders."""

from __future__ import annotations

import math

import numpy as np
import pytest
from synth import harmonic_clip, melody_pitches

from maskgmt.data.attributes import register_word
from maskgmt.eval.analyse import analyse
from maskgmt.eval.attributes import chance_accuracy, is_correct, reference_values
from maskgmt.eval.audio import ANALYSIS_SR, load_analysis, to_analysis
from maskgmt.eval.key import estimate_key
from maskgmt.eval.register import estimate_median_pitch
from maskgmt.eval.tempo import estimate_tempo, tempo_matches

SYNTH = [  # (tonic pc, mode, bpm, melody centre)
    (0, "major", 70.0, 48),
    (7, "minor", 100.0, 62),
    (2, "major", 140.0, 76),
    (9, "minor", 90.0, 52),
    (5, "major", 130.0, 67),
    (11, "minor", 65.0, 80),
]


@pytest.mark.parametrize(("tonic", "mode", "bpm", "centre"), SYNTH)
def test_synthetic_tones_give_back_their_attributes(tonic, mode, bpm, centre):
    wav = harmonic_clip(tonic_pc=tonic, mode=mode, bpm=bpm, center_midi=centre, sr=ANALYSIS_SR)
    assert tempo_matches(estimate_tempo(wav), bpm, tolerance=0.04)
    assert estimate_key(wav) == (
        ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")[tonic],
        mode,
    )
    played = melody_pitches(tonic, mode, centre, int(4.0 * bpm / 60.0) + 1)
    assert abs(estimate_median_pitch(wav) - np.median(played)) <= 1.0


def test_silence_has_no_pitch_tempo_or_key_and_never_scores():
    silence = np.zeros(ANALYSIS_SR * 2, dtype=np.float32)
    assert math.isnan(estimate_median_pitch(silence))
    assert estimate_tempo(silence) == 0.0
    assert estimate_key(silence) is None
    values = analyse(silence, classifier=None).estimate.values()
    ref = reference_values({"audio": "a.wav", "text": "t", "tempo_bpm": 60.0, "key": "C",
                            "mode": "major", "register": "low"})  # fmt: skip
    for attr in ("tempo", "tempo_word", "key", "mode", "register"):
        assert not is_correct(attr, values[attr], ref[attr]), attr


def test_tempo_tolerance_forgives_metrical_levels_but_not_other_errors():
    assert tempo_matches(100.0, 100.0) and tempo_matches(106.0, 100.0)
    assert tempo_matches(50.0, 100.0) and tempo_matches(205.0, 100.0)
    assert tempo_matches(35.0, 100.0) and tempo_matches(290.0, 100.0)  # 1/3 and 3 (in 3/4)
    assert not tempo_matches(120.0, 100.0) and not tempo_matches(75.0, 100.0)
    assert not tempo_matches(150.0, 100.0)  # 3/2 is a different tempo, not a level
    with pytest.raises(ValueError, match="true_bpm"):
        tempo_matches(100.0, 0.0)


def test_bad_audio_is_refused_with_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="shape"):
        to_analysis(np.zeros((2, 3, 4)), 16000)
    with pytest.raises(ValueError, match="NaN"):
        to_analysis(np.full(16000, np.nan), 16000)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_analysis(tmp_path / "missing.wav")
    (tmp_path / "junk.wav").write_bytes(b"not audio")
    with pytest.raises(ValueError, match="cannot be read"):
        load_analysis(tmp_path / "junk.wav")


def test_rendered_clips_are_estimated_well_above_chance(rendered):
    refs = [reference_values(r) for r in rendered.test_rows]
    ests = [
        analyse(load_analysis(rendered.root / r["audio"]), classifier=None).estimate.values()
        for r in rendered.test_rows
    ]
    for attr, least in [
        ("tempo", 0.8),
        ("tempo_word", 0.75),
        ("key", 0.75),
        ("mode", 0.8),
        ("register", 0.75),
    ]:
        acc = np.mean(
            [is_correct(attr, e[attr], ref[attr]) for e, ref in zip(ests, refs, strict=True)]
        )
        chance = chance_accuracy(attr, [ref[attr] for ref in refs])
        assert acc >= least and acc >= chance + 0.3, (attr, acc, chance)


def test_corpus_clips_are_estimated_well_above_chance(corpus_rows):
    """On `build_corpus` renders (real tunes, bass lines, many meters) the estimators are weaker
    than on controlled renders, above all the tempo word (metrical level), yet above chance."""
    refs = [reference_values(r) for r in corpus_rows]
    ests = [
        analyse(load_analysis(r["audio"]), classifier=None).estimate.values() for r in corpus_rows
    ]
    # (attribute, least accuracy, least margin over chance)
    # The tempo word is left out here: on real tunes the metrical level is ambiguous (about 50 %
    # against 34 % chance on 80 corpus clips), too close to chance for a dozen clips to show.
    # Floors sit about two binomial standard deviations under the accuracy measured on 80
    # corpus clips (tempo 76 %, key 60 %, register 88 %), so a rebuilt corpus does not flake.
    for attr, least, margin in [("tempo", 0.5, 0.1), ("key", 0.45, 0.25), ("register", 0.6, 0.2)]:
        acc = np.mean(
            [is_correct(attr, e[attr], ref[attr]) for e, ref in zip(ests, refs, strict=True)]
        )
        chance = chance_accuracy(attr, [ref[attr] for ref in refs])
        assert acc >= least and acc >= chance + margin, (attr, acc, chance)


def test_reference_values_fill_words_from_numbers():
    ref = reference_values({"audio": "a.wav", "text": "t", "instrument": "cello", "tempo_bpm": 130,
                            "melody_median_pitch": 50.0, "key": "Gb", "mode": "major"})  # fmt: skip
    assert ref["instrument_family"] == "strings"
    assert ref["tempo_word"] == "fast"
    assert ref["register"] == register_word(50.0) == "low"
    assert ref["key"] == "F# major"  # respelled as the estimator names it
