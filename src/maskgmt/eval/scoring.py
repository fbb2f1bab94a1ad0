"""Scoring analysed sources: accuracy, adherence, note activity, by-window figures, intervals.

Every figure with an interval is written the same way: a dict of floats keyed by name, plus
`"ci": {name: [lo, hi]}` (95 % percentile bootstrap over clips, shared resamples, so paired
figures stay paired).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from maskgmt.eval.analyse import ClipAnalysis
from maskgmt.eval.attributes import ATTRIBUTES, guess_matches, is_correct, reference_values
from maskgmt.eval.audio import ANALYSIS_SR, MAX_SECONDS
from maskgmt.eval.features import MEL_STATS_DIM
from maskgmt.eval.frechet import frechet_distance
from maskgmt.eval.instrument import InstrumentClassifier
from maskgmt.eval.notes import MIN_NOTE_SECONDS
from maskgmt.eval.stats import (
    CONFIDENCE,
    Statistic,
    adherence_stat,
    diff_stat,
    estimate,
    majority_stat,
    mean_stat,
    rank_corr_stat,
    ratio_stat,
    resample_weights,
    subset,
)

SOURCES: dict[str, str] = {
    "real": "the split's own audio: the ceiling the estimators reach",
    "codec": "real audio through the codec, encode -> decode (what the tokens can carry)",
    "generated": "generated from each row's own caption",
    "shuffled": "generated from another row's caption (a derangement), scored against this "
    "row's attributes (what the model does without following the text)",
}
FRECHET_NAME = "Fréchet mel-statistics distance"
# Fewer clips than this and a 95 % interval on an accuracy is wider than about +-7 points.
RECOMMENDED_CLIPS = 200
MIN_TEMPO_CLIPS = 10  # clips with a caption tempo needed to report notes vs tempo
NOTE_METHOD = (
    f"starts of stable top-voice notes (>= {1000 * MIN_NOTE_SECONDS:.0f} ms at one semitone of "
    "the CQT salience skyline; a new pitch, not an octave, or a re-strike after a rest) per second"
)
ADHERENCE = (
    "(source - chance) / (ceiling - chance) per attribute: 0 is chance, 1 is the ceiling "
    "(the codec's accuracy, what the tokens carry; real audio where there is no codec)"
)


@dataclass(frozen=True)
class AttributeHits:
    """One attribute's per-clip matches. n_a = rows with a reference, C distinct references."""

    idx: np.ndarray  # [n_a] row indices with a reference
    matches: np.ndarray  # [C, n_a] bool: constant guess c matches row (chance: the best c)
    hits: dict[str, np.ndarray]  # source -> [n_a] bool: the source's estimate matches

    def accuracy(self, source: str) -> Statistic:
        return subset(mean_stat(self.hits[source]), self.idx)

    def chance(self) -> Statistic:
        return subset(majority_stat(self.matches), self.idx)


def score(
    rows: Sequence[dict],
    sources: dict[str, list[ClipAnalysis]],
    *,
    classifier: InstrumentClassifier | None,
    manifest: str,
    seed: int,
    resamples: int,
    notes: list[str],
    windows: dict | None = None,
) -> dict:
    """Analyses of every source (lists aligned with `rows`) -> the metrics dict (metrics.json).

    `windows`: {"window_seconds", "spans_s": {"first": [a, b], "later": [c, d]},
    "first": [ClipAnalysis], "later": [ClipAnalysis]} of the generated clips, or None.
    """
    refs = [reference_values(r) for r in rows]
    segments = {} if windows is None else {"first": windows["first"], "later": windows["later"]}
    hits, skipped = attribute_hits(refs, {**sources, **segments}, classifier)
    weights = resample_weights(len(rows), resamples=resamples, seed=seed)
    ceiling = "codec" if "codec" in sources else "real"
    if not hits:
        notes.append(
            "the manifest has no attribute fields (instrument_family, tempo_bpm, key, mode, "
            "register, ...): only the Fréchet distance and note activity are reported"
        )
    if len(rows) < RECOMMENDED_CLIPS:
        notes.append(few_clips_warning(len(rows)))
    metrics = {
        "kind": "maskgmt.eval",
        "split": str(manifest),
        "n_clips": len(rows),
        "seed": seed,
        "analysis": {"sample_rate": ANALYSIS_SR, "max_seconds": MAX_SECONDS},
        "bootstrap": {"resamples": resamples, "confidence": CONFIDENCE, "seed": seed,
                      "unit": "clip (rows resampled jointly for every source)"},  # fmt: skip
        "sources": {k: SOURCES[k] for k in sources},
        "accuracy": accuracy_table(hits, list(sources), weights),
        "adherence_ceiling": ceiling,
        "adherence": adherence_table(hits, list(sources), weights, ceiling),
        "note_activity": note_activity(sources, weights, refs),
        "skipped": skipped,
        "frechet": frechet(sources),
        "classifier": None if classifier is None else {
            "classes": list(classifier.classes),
            "n_train_clips": len(classifier.trained_on),
            "train_accuracy": classifier.train_accuracy,
        },
        "notes": notes,
    }  # fmt: skip
    if windows is not None:
        metrics["by_window"] = window_table(hits, sources, windows, weights, ceiling)
    return metrics


def few_clips_warning(n: int) -> str:
    """The one-line warning for an evaluation on fewer than RECOMMENDED_CLIPS clips."""
    return (
        f"only {n} clips scored (fewer than {RECOMMENDED_CLIPS}): the 95% intervals will be wide; "
        "score a larger held-out split before drawing conclusions"
    )


def attribute_hits(
    refs: Sequence[dict],
    sources: dict[str, list[ClipAnalysis]],
    classifier: InstrumentClassifier | None,
) -> tuple[dict[str, AttributeHits], dict[str, str]]:
    """Reference values per row and analyses per source -> per-attribute hits, and the
    attributes that cannot be scored with the reason."""
    out: dict[str, AttributeHits] = {}
    skipped: dict[str, str] = {}
    for attr in ATTRIBUTES:
        idx = np.array([i for i, ref in enumerate(refs) if ref[attr] is not None], dtype=int)
        if not idx.size:
            skipped[attr] = "the manifest has no reference for it"
            continue
        if attr == "instrument_family" and classifier is None:
            skipped[attr] = "no instrument classifier (pass a train split to train one)"
            continue
        truth = [refs[i][attr] for i in idx]
        hits = {
            name: np.array(
                [
                    is_correct(attr, analyses[i].estimate.values()[attr], t)
                    for i, t in zip(idx, truth, strict=True)
                ],
                dtype=bool,
            )  # fmt: skip
            for name, analyses in sources.items()
        }
        out[attr] = AttributeHits(idx=idx, matches=guess_matches(attr, truth), hits=hits)
    return out, skipped


def figure(stats: dict[str, Statistic], weights: np.ndarray) -> dict:
    """Named statistics -> {name: point estimate, ..., "ci": {name: [lo, hi]}}."""
    out: dict[str, object] = {}
    ci: dict[str, list[float]] = {}
    for name, stat in stats.items():
        point, lo, hi = estimate(stat, weights)
        out[name], ci[name] = point, [lo, hi]
    out["ci"] = ci
    return out


def accuracy_table(
    hits: dict[str, AttributeHits], sources: Sequence[str], weights: np.ndarray
) -> dict[str, dict]:
    """Per attribute: description, n, chance and each source's accuracy, with intervals.
    `accuracy[attr][source]` is the plain float accuracy."""
    return {
        attr: {
            "description": ATTRIBUTES[attr],
            "n": int(h.idx.size),
            **figure({"chance": h.chance(), **{s: h.accuracy(s) for s in sources}}, weights),
        }
        for attr, h in hits.items()
    }


def adherence_table(
    hits: dict[str, AttributeHits], sources: Sequence[str], weights: np.ndarray, ceiling: str
) -> dict[str, dict]:
    """Per attribute: adherence of generated and shuffled audio (see ADHERENCE), and the codec's
    gap to real audio (real - codec accuracy), with intervals."""
    out = {}
    for attr, h in hits.items():
        stats = {
            s: adherence_stat(h.accuracy(s), h.accuracy(ceiling), h.chance())
            for s in ("generated", "shuffled")
            if s in sources
        }
        if "codec" in sources:
            stats["codec_gap"] = diff_stat(h.accuracy("real"), h.accuracy("codec"))
        out[attr] = figure(stats, weights)
    return out


def note_activity(
    sources: dict[str, list[ClipAnalysis]], weights: np.ndarray, refs: Sequence[dict] = ()
) -> dict:
    """Mean notes per second of every source, each source's ratio to real audio, and (with
    reference tempi in `refs`) the rank correlation of each source's note rate with the
    caption's tempo: real audio plays slow captions slower, and a model should too."""
    means = {s: mean_stat([a.estimate.notes_per_s for a in v]) for s, v in sources.items()}
    ratios = {s: ratio_stat(m, means["real"]) for s, m in means.items() if s != "real"}
    out = {
        "unit": "notes/s",
        "method": NOTE_METHOD,
        "notes_per_s": figure(means, weights),
        "ratio_to_real": figure(ratios, weights),
    }
    tempo = np.array([np.nan if r.get("tempo") is None else r["tempo"] for r in refs], float)
    if np.isfinite(tempo).sum() >= MIN_TEMPO_CLIPS:
        out["vs_caption_tempo"] = figure(
            {s: rank_corr_stat([a.estimate.notes_per_s for a in v], tempo)
             for s, v in sources.items()},
            weights,
        )  # fmt: skip
    return out


def window_table(
    hits: dict[str, AttributeHits],
    sources: dict[str, list[ClipAnalysis]],
    windows: dict,
    weights: np.ndarray,
    ceiling: str,
) -> dict:
    """The generated clips' first window vs their later part: note activity, accuracy and
    adherence of each, and the later part's change from the first window."""
    rate = {s: mean_stat([a.estimate.notes_per_s for a in windows[s]]) for s in ("first", "later")}
    real = mean_stat([a.estimate.notes_per_s for a in sources["real"]])
    out: dict[str, object] = {
        "window_seconds": windows["window_seconds"],
        "spans_s": windows["spans_s"],
        "n": len(windows["first"]),
        "notes_per_s": figure(
            {"real": real, **rate, "later_minus_first": diff_stat(rate["later"], rate["first"])},
            weights,
        ),
        "ratio_to_real": figure({s: ratio_stat(r, real) for s, r in rate.items()}, weights),
        "accuracy": {},
        "adherence": {},
    }
    for attr, h in hits.items():
        adh = {
            s: adherence_stat(h.accuracy(s), h.accuracy(ceiling), h.chance())
            for s in ("first", "later")
        }
        adh["later_minus_first"] = diff_stat(adh["later"], adh["first"])
        out["accuracy"][attr] = figure({s: h.accuracy(s) for s in ("first", "later")}, weights)
        out["adherence"][attr] = figure(adh, weights)
    return out


def frechet(sources: dict[str, list[ClipAnalysis]]) -> dict:
    """Fréchet mel-statistics distance of every source to real audio."""
    out: dict[str, object] = {
        "name": FRECHET_NAME,
        "embedding": "per-band mean and std of a 64-band log-mel spectrogram (dB), "
        f"{MEL_STATS_DIM} dims",
        "regularisation": "Ledoit-Wolf shrunk covariances (few clips, many dims); compare "
        "distances only between sets of the same size",
        "floor": "codec" if "codec" in sources else None,
        "vs_real": {},
    }
    real = np.stack([a.mel_stats for a in sources["real"]])
    if real.shape[0] < 2:
        out["note"] = "needs at least 2 clips; not computed"
        return out
    for name, analyses in sources.items():
        if name != "real":
            out["vs_real"][name] = frechet_distance(real, np.stack([a.mel_stats for a in analyses]))
    return out
