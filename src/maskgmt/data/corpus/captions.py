"""Captions written from a clip's attributes: several sentence shapes, synonyms, seeded choice.

Every caption names all attributes (instrument, tempo word or BPM, register, key and mode,
meter, dynamics, accompaniment or solo, style) in words a test can find: the literal attribute
word ("slow", "low", "soft", "D minor", "3/4") always appears, dressed in varied phrasing.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from maskgmt.data.attributes import INSTRUMENTS
from maskgmt.data.corpus.arrange import ClipAttributes

# A solo clip's caption contains one of these.
SOLO_WORDS: tuple[str, ...] = ("solo", "unaccompanied", "no accompaniment")

_STYLE_NAMES: dict[str, tuple[str, ...]] = {
    "chorale": ("chorale", "Bach chorale", "chorale melody", "hymn-like chorale"),
    "folk song": ("folk song", "folk melody", "folk tune", "traditional folk song"),
    "fiddle tune": ("fiddle tune", "dance tune"),
    "reel": ("reel", "fiddle reel"),
    "jig": ("jig", "lively jig tune"),
    "slip jig": ("slip jig",),
    "hornpipe": ("hornpipe", "hornpipe dance tune"),
    "strathspey": ("strathspey", "Scottish strathspey"),
    "clog dance": ("clog dance", "clog tune"),
    "fling": ("fling", "Highland fling"),
}
_DYNAMICS_ADJ = {"soft": ("soft", "gentle, soft"), "medium": ("medium-volume",), "loud": ("loud",)}
_DYNAMICS_ADV = {
    "soft": ("softly", "soft and quiet"),
    "medium": ("at medium volume", "at a medium dynamic level"),
    "loud": ("loudly", "loud and bold"),
}
_DYNAMICS_TAG = {
    "soft": ("soft", "soft dynamics"),
    "medium": ("medium dynamics", "medium volume"),
    "loud": ("loud", "loud dynamics"),
}
_TEMPO_ADJ = {
    "slow": ("slow", "slow, unhurried"),
    "moderate": ("moderate-tempo", "moderately paced"),
    "fast": ("fast", "brisk, fast"),
}


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _a(phrase: str) -> str:
    return f"{_article(phrase)} {phrase}"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


class _Words:
    """Phrases for one caption, each drawn once from its synonyms."""

    def __init__(self, a: ClipAttributes, rng: random.Random) -> None:
        c = rng.choice
        bpm = f"{round(a.tempo_bpm)} BPM"
        word = a.tempo_word
        self.inst = c(INSTRUMENTS[a.instrument].names)
        self.style = c(_STYLE_NAMES.get(a.style, (a.style,)))
        self.key = f"{a.key} {a.mode}"
        self.meter = a.meter
        self.reg = a.register
        self.register = c(
            (
                f"in a {a.register} register",
                f"in the {a.register} register",
                f"in a {a.register} range",
                f"pitched {a.register}",
            )
        )
        # Tempo is sometimes a word, sometimes a number, sometimes both.
        self.tempo_adj = c(_TEMPO_ADJ[word] + (f"{word}, {bpm}",))
        self.tempo_np = c(
            (f"a {word} tempo", bpm, f"a {word} {bpm}", f"a {word} pace")
            if word != "moderate"
            else ("a moderate tempo", bpm, f"a moderate {bpm}", "a moderate pace")
        )
        self.tempo_tag = c((f"{word} tempo", bpm, f"{word} ({bpm})"))
        self.dyn_adj = c(_DYNAMICS_ADJ[a.dynamics])
        self.dyn_adv = c(_DYNAMICS_ADV[a.dynamics])
        self.dyn_tag = c(_DYNAMICS_TAG[a.dynamics])
        if a.accompaniment is None:
            self.solo = True
            self.acc = c((", unaccompanied", ", with no accompaniment", ", played solo"))
            self.acc_tag = c(SOLO_WORDS)
        else:
            acc = c(INSTRUMENTS[a.accompaniment].names)
            self.solo = False
            self.acc = c(
                (
                    f", with {_a(acc)} bass line",
                    f", accompanied by {_a(acc)}",
                    f" over {_a(acc)} bass",
                    f", backed by {_a(acc)}",
                )
            )
            self.acc_tag = c((f"{acc} accompaniment", f"{acc} bass line"))


def _sentence(w: _Words, rng: random.Random) -> str:
    lead = f"{w.tempo_adj}, {w.dyn_adj} {w.inst}"
    return f"{_cap(_a(lead))} plays {_a(w.style)} in {w.key}, {w.meter} time, {w.register}{w.acc}."


def _played_on(w: _Words, rng: random.Random) -> str:
    acc = w.acc.replace("played solo", "solo")  # "played" is already in this sentence
    return (
        f"{_cap(_a(w.style))} in {w.key} ({w.meter}), played {w.dyn_adv} on {_a(w.inst)} "
        f"{w.register} at {w.tempo_np}{acc}."
    )


def _tags(w: _Words, rng: random.Random) -> str:
    tags = [
        w.inst,
        f"{w.reg} register",
        w.tempo_tag,
        w.dyn_tag,
        w.key,
        f"{w.meter} meter",
        w.acc_tag,
        w.style,
    ]
    rng.shuffle(tags)
    return ", ".join(tags)


def _melody_in(w: _Words, rng: random.Random) -> str:
    # A solo clip says so up front here instead of in a trailing phrase.
    lead, acc = (f"solo {w.inst}", "") if w.solo else (w.inst, w.acc)
    return (
        f"{_cap(_a(lead))} melody in {w.key}: {w.tempo_np}, {w.meter}, "
        f"{w.dyn_tag}, {w.reg} register{acc}."
    )


def _features(w: _Words, rng: random.Random) -> str:
    return (
        f"This clip features {_a(w.inst)} playing {_a(w.tempo_adj)} {w.style} in {w.key} and "
        f"{w.meter} time, {w.dyn_adv}, {w.register}{w.acc}."
    )


def _for_instrument(w: _Words, rng: random.Random) -> str:
    return (
        f"{_cap(w.key)} {w.style} for {w.inst}{w.acc}; {w.meter}, {w.tempo_np}, "
        f"{w.dyn_tag}, {w.register}."
    )


def _dyn_first(w: _Words, rng: random.Random) -> str:
    return (
        f"{_cap(w.dyn_adj)}, {w.reg}-register {w.inst}{w.acc} — {_a(w.tempo_adj)} {w.meter} "
        f"{w.style} in {w.key}."
    )


TEMPLATES: tuple[Callable[[_Words, random.Random], str], ...] = (
    _sentence,
    _played_on,
    _tags,
    _melody_in,
    _features,
    _for_instrument,
    _dyn_first,
)


def write_caption(attributes: ClipAttributes, rng: random.Random) -> str:
    """One caption for a clip; the template and every synonym are drawn from `rng`."""
    template = TEMPLATES[rng.randrange(len(TEMPLATES))]
    return template(_Words(attributes, rng), rng)
