"""The shuffled-caption control is a derangement that keeps the captions' multiset."""

from __future__ import annotations

from collections import Counter

import pytest

from maskgmt.eval.evaluate import derangement


@pytest.mark.parametrize("n", [2, 3, 7, 50])
def test_no_caption_stays_with_its_row_and_the_multiset_is_kept(n):
    texts = [f"caption {i}" for i in range(n)]
    for seed in range(5):
        perm = derangement(texts, seed=seed)
        assert sorted(perm) == list(range(n))
        assert all(p != i for i, p in enumerate(perm))
        assert Counter(texts[p] for p in perm) == Counter(texts)


def test_duplicate_captions_are_not_handed_back_to_a_twin_and_seeds_repeat():
    texts = ["a", "a", "b", "b", "c", "d"]
    perm = derangement(texts, seed=3)
    assert all(texts[p] != t for p, t in zip(perm, texts, strict=False))
    assert perm == derangement(texts, seed=3)
    assert any(derangement(texts, seed=s) != perm for s in range(4, 10))


def test_impossible_caption_difference_still_gives_an_index_derangement():
    texts = ["same"] * 4
    perm = derangement(texts, seed=0)
    assert all(p != i for i, p in enumerate(perm)) and sorted(perm) == [0, 1, 2, 3]


def test_one_clip_is_refused():
    with pytest.raises(ValueError, match="at least 2"):
        derangement(["only"], seed=0)


def test_compound_meters_are_scored_at_the_dotted_quarter_beat() -> None:
    from maskgmt.eval.attributes import is_compound, is_correct, reference_values

    assert is_compound("6/8") and is_compound("9/8") and is_compound("3/8")
    assert not is_compound("3/4") and not is_compound("4/4") and not is_compound(None)
    row = {"audio": "x.wav", "text": "t", "tempo_bpm": 120.0, "meter": "6/8"}
    ref = reference_values(row)["tempo"]
    assert ref == 80.0
    assert is_correct("tempo", 80.0, ref)  # a beat tracker hears the dotted quarter
    assert not is_correct("tempo", 120.0, ref)  # the quarter is not a felt level in 6/8
    assert reference_values({**row, "meter": "3/4"})["tempo"] == 120.0
