"""Short captions: they name exactly the chosen attributes, in words generation can read."""

from __future__ import annotations

import random

import pytest

from maskgmt.data.attributes import INSTRUMENTS, PITCH_CLASSES, REGISTER_WORDS
from maskgmt.data.corpus.short_captions import (
    ATTRIBUTE_FIELDS,
    SCORED,
    choose_attributes,
    missing_fields,
    short_caption,
)
from maskgmt.model.key_cue import caption_key, key_name
from maskgmt.model.tempo import caption_bpm


def _row(rng: random.Random) -> dict:
    """A manifest row with the corpus's attribute fields."""
    return {
        "instrument": rng.choice(list(INSTRUMENTS)),
        "tempo_bpm": float(rng.randint(50, 170)),
        "tempo_word": rng.choice(("slow", "moderate", "fast")),
        "key": rng.choice(PITCH_CLASSES),
        "mode": rng.choice(("major", "minor")),
        "register": rng.choice(REGISTER_WORDS),
        "dynamics": rng.choice(("soft", "medium", "loud")),
        "meter": rng.choice(("3/4", "4/4", "6/8")),
        "accompaniment": rng.choice((None, "piano", "cello")),
        "style": rng.choice(("chorale", "jig", "folk song")),
    }


def _names_instrument(text: str, row: dict) -> bool:
    return any(name in text for name in INSTRUMENTS[row["instrument"]].names)


@pytest.mark.parametrize("trial", range(200))
def test_a_caption_names_exactly_the_chosen_attributes(trial: int) -> None:
    rng = random.Random(trial)
    row = _row(rng)
    names = set(choose_attributes(rng, 0.5))
    text = short_caption(row, names, rng)
    assert names and names <= set(ATTRIBUTE_FIELDS)
    # The key and tempo parsers that generation uses read what was named, and only that.
    key = caption_key(text)
    assert (key_name(key) if key is not None else None) == (
        f"{row['key']} {row['mode']}" if "key" in names else None
    ), text
    bpm = caption_bpm(text)
    assert (bpm is not None) == ("tempo" in names), text
    if "BPM" in text:  # a stated number is the clip's own tempo
        assert bpm == row["tempo_bpm"], text
    if "instrument" in names:
        assert _names_instrument(text, row), text
    if "register" in names:
        assert f"{row['register']} register" in text or f"pitched {row['register']}" in text, text
    else:
        assert "register" not in text and "pitched" not in text, text
    if "meter" not in names:
        assert row["meter"] not in text, text


def test_scored_attributes_are_all_named_and_nothing_else() -> None:
    rng = random.Random(0)
    for _ in range(50):
        row = _row(rng)
        text = short_caption(row, SCORED, rng)
        assert _names_instrument(text, row) and caption_bpm(text) is not None, text
        assert f"{row['key']} {row['mode']}" in text, text
        assert row["meter"] not in text and row["style"] not in text, text


def test_every_attribute_is_chosen_and_none_is_never_empty() -> None:
    rng = random.Random(1)
    draws = [choose_attributes(rng, 0.2) for _ in range(400)]
    assert all(draws)
    assert {a for d in draws for a in d} == set(ATTRIBUTE_FIELDS)
    assert all(len(choose_attributes(rng, 1.0)) == len(ATTRIBUTE_FIELDS) for _ in range(5))


def test_bad_input_is_named() -> None:
    with pytest.raises(ValueError, match="unknown caption attributes \\['mood'\\]"):
        short_caption(_row(random.Random(0)), {"mood"}, random.Random(0))
    assert missing_fields(["instrument", "key", "mode"]) == sorted(
        {"tempo_word", "tempo_bpm", "register", "dynamics", "meter", "accompaniment", "style"}
    )


def test_medium_dynamics_read_as_a_volume_not_a_size() -> None:
    rng = random.Random(0)
    row = {**_row(rng), "dynamics": "medium"}
    texts = [short_caption(row, {"dynamics", "instrument"}, random.Random(i)) for i in range(20)]
    assert all("medium-volume" in t for t in texts), texts
    soft = {**row, "dynamics": "soft"}
    assert all("soft" in short_caption(soft, {"dynamics"}, random.Random(i)) for i in range(5))
