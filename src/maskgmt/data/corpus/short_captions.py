"""Short captions that name only some of a clip's attributes, as a user types them.

The corpus captions (`captions.py`) name every attribute in full sentences. A user writes
"a slow cello melody in D minor, pitched high" and leaves the rest out. Training on a share of
such captions (`data: {partial_captions: p}`) keeps that kind of prompt in distribution and
teaches the model to follow what is stated and choose the rest itself; evaluating on them
(`bench/short_captions.py`) measures it. Each caption is built from a manifest row's fields, so
it works on any cache the corpus wrote, and still contains the literal attribute words.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Mapping
from typing import Any

from maskgmt.data.attributes import INSTRUMENTS

# Attributes a short caption may name, and the manifest fields each one needs.
ATTRIBUTE_FIELDS: dict[str, tuple[str, ...]] = {
    "instrument": ("instrument",),
    "tempo": ("tempo_word", "tempo_bpm"),
    "key": ("key", "mode"),
    "register": ("register",),
    "dynamics": ("dynamics",),
    "meter": ("meter",),
    "accompaniment": ("accompaniment",),
    "style": ("style",),
}
# Every manifest field a short caption may read (sorted).
FIELDS: tuple[str, ...] = tuple(sorted({f for fs in ATTRIBUTE_FIELDS.values() for f in fs}))
# What the evaluator scores: a caption naming these is the user-style evaluation prompt.
SCORED: tuple[str, ...] = ("instrument", "tempo", "key", "register")
PARTIAL_KEEP = 0.5  # chance that a training caption names each attribute

_NOUNS = ("melody", "tune", "piece")
_REGISTER = ("pitched {r}", "in a {r} register", "in the {r} register", "{r} register")


def missing_fields(columns: Collection[str]) -> list[str]:
    """The manifest fields a short caption needs that `columns` lacks (sorted)."""
    have = set(columns)
    return [f for f in FIELDS if f not in have]


def choose_attributes(rng: random.Random, keep: float) -> tuple[str, ...]:
    """A random non-empty subset of `ATTRIBUTE_FIELDS`, each attribute kept with prob `keep`."""
    names = tuple(a for a in ATTRIBUTE_FIELDS if rng.random() < keep)
    return names or (rng.choice(tuple(ATTRIBUTE_FIELDS)),)


def short_caption(row: Mapping[str, Any], names: Collection[str], rng: random.Random) -> str:
    """A one-line caption of manifest `row` naming exactly the attributes in `names`.

    Either a phrase ("A slow, soft cello melody in D minor, pitched high, 3/4 time, solo.") or
    a comma-separated tag list ("cello, slow tempo, D minor"), chosen by `rng`.
    """
    unknown = set(names) - set(ATTRIBUTE_FIELDS)
    if unknown:
        raise ValueError(f"unknown caption attributes {sorted(unknown)}; "
                         f"choose from {list(ATTRIBUTE_FIELDS)}")  # fmt: skip
    parts = _parts(row, set(names), rng)
    if rng.random() < 0.3:
        tags = _tags(parts)
        rng.shuffle(tags)
        return ", ".join(tags) if tags else "music"
    return _phrase(parts, rng)


# "a medium flute tune" reads as a size; the corpus's captions say "medium-volume".
_DYNAMICS = {"medium": "medium-volume"}


def _parts(row: Mapping[str, Any], names: set[str], rng: random.Random) -> dict[str, str]:
    """Attribute -> its words ("" for an attribute not named). Tempo is a word, a number or
    both: "tempo_adj" is the word ("slow") and "tempo_at" the number ("64 BPM")."""
    c = rng.choice
    word, bpm = str(row["tempo_word"]), f"{round(float(row['tempo_bpm']))} BPM"
    form = c(("word", "word", "both", "number"))
    acc = row.get("accompaniment")
    parts = {
        "instrument": c(INSTRUMENTS[row["instrument"]].names),
        "tempo_adj": word if form != "number" else "",
        "tempo_at": bpm if form != "word" else "",
        "key": f"{row['key']} {row['mode']}",
        "register": c(_REGISTER).format(r=row["register"]),
        "dynamics": _DYNAMICS.get(str(row["dynamics"]), str(row["dynamics"])),
        "meter": f"{row['meter']} time",
        "accompaniment": (
            "solo" if acc is None else f"with {c(INSTRUMENTS[acc].names)} accompaniment"
        ),  # fmt: skip
        "style": str(row["style"]),
    }
    named = names | ({"tempo_adj", "tempo_at"} if "tempo" in names else set())
    return {a: (text if a in named else "") for a, text in parts.items()}


def _tags(p: dict[str, str]) -> list[str]:
    tempo = {(True, False): f"{p['tempo_adj']} tempo", (False, True): p["tempo_at"],
             (True, True): f"{p['tempo_adj']} ({p['tempo_at']})"}.get(
                 (bool(p["tempo_adj"]), bool(p["tempo_at"])), "")  # fmt: skip
    rest = [v for k, v in p.items() if not k.startswith("tempo")]
    return [t for t in [*rest, tempo] if t]


def _phrase(p: dict[str, str], rng: random.Random) -> str:
    adjectives = ", ".join(w for w in (p["tempo_adj"], p["dynamics"]) if w)
    noun = p["style"] or rng.choice(_NOUNS)
    subject = " ".join(w for w in (adjectives, p["instrument"], noun) if w)
    article = "an" if subject[:1].lower() in "aeiou" else "a"
    tail = [p["register"], p["meter"], f"at {p['tempo_at']}" * bool(p["tempo_at"]),
            p["accompaniment"]]  # fmt: skip
    text = f"{article} {subject}" + f" in {p['key']}" * bool(p["key"])
    text += "".join(f", {t}" for t in tail if t)
    return text[:1].upper() + text[1:] + "."
