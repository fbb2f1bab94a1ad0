"""Bootstrap intervals and adherence: contain the estimate, shrink with n, 1 at the ceiling, 0 at
chance, undefined where the ceiling is not above chance."""

from __future__ import annotations

import math

import numpy as np
import pytest

from maskgmt.eval.attributes import chance_accuracy, guess_matches
from maskgmt.eval.scoring import AttributeHits, adherence_table, figure
from maskgmt.eval.stats import estimate, mean_stat, ratio_stat, resample_weights


def _bernoulli(n: int, p: float, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random(n) < p


def test_weights_are_seeded_resamples_of_n_clips():
    w = resample_weights(7, resamples=50, seed=3)
    assert w.shape == (50, 7) and np.all(w.sum(axis=1) == 7) and np.all(w >= 0)
    np.testing.assert_array_equal(w, resample_weights(7, resamples=50, seed=3))
    assert not np.array_equal(w, resample_weights(7, resamples=50, seed=4))


def test_intervals_contain_the_estimate_shrink_with_n_and_match_the_binomial_width():
    widths = {}
    for n in (50, 200, 800):
        hits = _bernoulli(n, 0.6, seed=n)
        point, lo, hi = estimate(mean_stat(hits), resample_weights(n, seed=0))
        assert point == pytest.approx(hits.mean())
        assert lo <= point <= hi
        widths[n] = hi - lo
        binomial = 2 * 1.96 * math.sqrt(point * (1 - point) / n)
        assert widths[n] == pytest.approx(binomial, rel=0.2), n
    assert widths[800] < widths[200] < widths[50]
    assert widths[800] == pytest.approx(widths[50] / 4, rel=0.3)  # 1/sqrt(n)


def _hits(refs: list[str], **sources: np.ndarray) -> dict[str, AttributeHits]:
    idx = np.arange(len(refs))
    return {"mode": AttributeHits(idx=idx, matches=guess_matches("mode", refs), hits=sources)}


def test_adherence_is_one_at_the_codec_and_zero_at_chance():
    n = 120
    refs = ["major" if i % 3 else "minor" for i in range(n)]  # chance 2/3
    codec = _bernoulli(n, 0.9, seed=1)
    majority = np.array([r == "major" for r in refs])  # always answering "major"
    hits = _hits(refs, real=codec | _bernoulli(n, 0.5, 2), codec=codec, generated=codec.copy(),
                 shuffled=majority)  # fmt: skip
    w = resample_weights(n, seed=0)
    adh = adherence_table(hits, ["real", "codec", "generated", "shuffled"], w, "codec")["mode"]
    # Generated hits exactly the codec's clips: 1 in every (paired) resample.
    assert adh["generated"] == pytest.approx(1.0)
    assert adh["ci"]["generated"] == pytest.approx([1.0, 1.0])
    # A constant majority guess is chance by definition: 0, and never above chance.
    assert adh["shuffled"] == pytest.approx(0.0, abs=1e-12)
    assert adh["ci"]["shuffled"][0] <= 0.0 and adh["ci"]["shuffled"][1] <= 1e-12
    # The codec's gap to real audio: real is at least as good here, so the gap is >= 0.
    assert adh["codec_gap"] >= 0 and adh["ci"]["codec_gap"][0] <= adh["codec_gap"]


def test_shuffled_audio_that_ignores_the_text_has_adherence_near_zero():
    n = 400
    refs = [("major", "minor")[i % 2] for i in range(n)]  # chance 1/2
    rng = np.random.default_rng(5)
    guesses = rng.choice(["major", "minor"], size=n)  # unrelated to the row
    codec = _bernoulli(n, 0.9, 6)
    unrelated = np.array([g == r for g, r in zip(guesses, refs, strict=True)])
    hits = _hits(refs, real=codec, codec=codec, shuffled=unrelated)
    adh = adherence_table(hits, ["real", "codec", "shuffled"], resample_weights(n, seed=1), "codec")
    assert adh["mode"]["codec_gap"] == 0.0 and adh["mode"]["ci"]["codec_gap"] == [0.0, 0.0]
    lo, hi = adh["mode"]["ci"]["shuffled"]
    assert lo < 0 < hi and abs(adh["mode"]["shuffled"]) < 0.15


def test_chance_is_the_majority_guess_and_its_interval_contains_it():
    refs = ["a"] * 6 + ["b"] * 3 + ["c"]
    h = _hits(refs)["mode"]
    fig = figure({"chance": h.chance()}, resample_weights(len(refs), seed=0))
    assert fig["chance"] == pytest.approx(chance_accuracy("mode", refs)) == 0.6
    lo, hi = fig["ci"]["chance"]
    assert lo < 0.6 < hi  # resamples hold more or fewer "a"
    # Six equally common keys: re-picking the guess per resample would put the whole interval
    # above the point (a maximum of noisy rates); the fixed guess keeps it around it.
    six = [k for k in "abcdef" for _ in range(2)]
    fig = figure({"chance": _hits(six)["mode"].chance()}, resample_weights(12, seed=0))
    assert fig["chance"] == pytest.approx(1 / 6)
    assert fig["ci"]["chance"][0] <= fig["chance"] <= fig["ci"]["chance"][1]


def test_a_ceiling_at_chance_leaves_adherence_undefined_not_infinite():
    n = 60
    refs = ["major"] * 30 + ["minor"] * 30
    at_chance = np.array([r == "major" for r in refs])  # the codec is no better than a guess
    hits = _hits(refs, real=at_chance, codec=at_chance, generated=_bernoulli(n, 0.7, 3))
    w = resample_weights(n, seed=0)
    adh = adherence_table(hits, ["real", "codec", "generated"], w, "codec")
    assert math.isnan(adh["mode"]["generated"])
    assert all(math.isnan(b) for b in adh["mode"]["ci"]["generated"])
    # Ratios in general: NaN where the denominator is not positive.
    r = ratio_stat(mean_stat([1.0, 2.0]), mean_stat([0.0, 0.0]))(np.ones((1, 2)))
    assert math.isnan(r[0])


def test_rank_correlation_is_spearmans_with_a_paired_interval() -> None:
    from types import SimpleNamespace

    from scipy.stats import spearmanr

    from maskgmt.eval.report import _notes_section
    from maskgmt.eval.scoring import note_activity
    from maskgmt.eval.stats import rank_corr_stat

    rng = np.random.default_rng(0)
    x = rng.integers(0, 6, 40).astype(float)  # ties
    y = x + rng.normal(0, 2, 40)
    y[3] = np.nan  # a clip without a tempo is left out
    keep = np.isfinite(y)
    point, lo, hi = estimate(rank_corr_stat(x, y), resample_weights(40))
    assert point == pytest.approx(spearmanr(x[keep], y[keep]).statistic)
    assert lo < point < hi
    assert estimate(rank_corr_stat(x, x), resample_weights(40))[0] == pytest.approx(1.0)
    assert estimate(rank_corr_stat(x, -x), resample_weights(40))[0] == pytest.approx(-1.0)
    assert np.isnan(rank_corr_stat([1.0, 2.0], [2.0, 1.0])(np.ones((1, 2))))[0]

    # note activity reports it per source when the rows have a caption tempo
    def clips(rates):
        return [SimpleNamespace(estimate=SimpleNamespace(notes_per_s=r)) for r in rates]

    tempo = np.linspace(60, 160, 12)
    sources = {"real": clips(tempo / 50), "generated": clips(tempo[::-1] / 50)}
    na = note_activity(sources, resample_weights(12), [{"tempo": t} for t in tempo])
    assert na["vs_caption_tempo"]["real"] == pytest.approx(1.0)
    assert na["vs_caption_tempo"]["generated"] == pytest.approx(-1.0)
    section = "\n".join(_notes_section({"note_activity": na}, ["real", "generated"]))
    assert "rank corr. with the caption's tempo" in section and "-1.00" in section
    assert "vs_caption_tempo" not in note_activity(sources, resample_weights(12), [{}] * 12)
