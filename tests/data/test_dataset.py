"""CodesDataset and collate: crops, padding masks, seeded reproducibility, rank splits."""

from __future__ import annotations

import pickle

import datasets
import numpy as np
import pytest
import torch

from maskgmt.data.dataset import CodesDataset, collate, split_for_rank
from maskgmt.data.schema import cache_features
from maskgmt.model.tempo import caption_bpm

K = 3
LENGTHS = [40, 7, 25, 12, 33, 12]  # frames per clip; seq_len 12 crops some, pads others


@pytest.fixture(scope="module")
def cache() -> datasets.Dataset:
    """A cache-shaped dataset whose codes encode (clip, level, frame), so crops are checkable."""
    codes = [
        np.array([[(c * 7 + k * 3 + t) % 100 for t in range(n)] for k in range(K)], np.int16)
        for c, n in enumerate(LENGTHS)
    ]
    table = {
        "codes": codes,
        "num_frames": LENGTHS,
        "text": [f"clip {c}" for c in range(len(LENGTHS))],
        "duration": [n / 50 for n in LENGTHS],
        "audio": [f"/x/{c}.wav" for c in range(len(LENGTHS))],
    }
    return datasets.Dataset.from_dict(
        table, features=cache_features(n_q=K, extra={}, text_dim=None)
    )


def _source(cache: datasets.Dataset, index: int) -> np.ndarray:
    return np.asarray(cache[index]["codes"])  # (K, T)


def test_random_crops_are_windows_of_the_clip(cache: datasets.Dataset) -> None:
    data = CodesDataset(cache, seq_len=12, seed=3)
    starts = set()
    for epoch in range(6):
        data.set_epoch(epoch)
        item = data[0]  # 40 frames: a random 12-frame window
        full = _source(cache, 0)
        start = int(item["codes"][0, 0]) - full[0, 0]  # codes count up by one per frame
        starts.add(start)
        assert 0 <= start <= 40 - 12
        assert np.array_equal(item["codes"].numpy(), full[:, start : start + 12])
        assert item["codes"].dtype == torch.long and item["padding_mask"].all()
    assert len(starts) > 1  # the crop moves between epochs


def test_short_clips_are_padded_with_a_false_mask(cache: datasets.Dataset) -> None:
    item = CodesDataset(cache, seq_len=12)[1]  # 7 frames
    assert item["padding_mask"].tolist() == [True] * 7 + [False] * 5
    assert np.array_equal(item["codes"][:, :7].numpy(), _source(cache, 1))
    assert (item["codes"][:, 7:] == 0).all()
    assert CodesDataset(cache, seq_len=12)[3]["padding_mask"].all()  # exactly seq_len: no pad


def test_seeded_crops_reproduce_in_any_order(cache: datasets.Dataset) -> None:
    def crops(seed: int, epoch: int, order: list[int]) -> dict[int, torch.Tensor]:
        data = CodesDataset(cache, seq_len=5, seed=seed)
        data.set_epoch(epoch)
        return {i: data[i]["codes"] for i in order}

    forward = crops(0, 2, list(range(len(LENGTHS))))
    backward = crops(0, 2, list(reversed(range(len(LENGTHS)))))
    assert all(torch.equal(forward[i], backward[i]) for i in forward)
    other_seed = crops(1, 2, list(range(len(LENGTHS))))
    assert any(not torch.equal(forward[i], other_seed[i]) for i in forward)
    # What a DataLoader worker gets (a pickled copy) crops the same way.
    data = CodesDataset(cache, seq_len=5, seed=0)
    data.set_epoch(2)
    clone = pickle.loads(pickle.dumps(data))
    assert torch.equal(clone[4]["codes"], forward[4])


def test_validation_mode_takes_the_first_frames(cache: datasets.Dataset) -> None:
    data = CodesDataset(cache, seq_len=12, random_crop=False, seed=5)
    for epoch in (0, 9):
        data.set_epoch(epoch)
        assert np.array_equal(data[0]["codes"].numpy(), _source(cache, 0)[:, :12])


def test_collate_builds_the_training_batch(cache: datasets.Dataset) -> None:
    data = CodesDataset(cache, seq_len=12, n_q=2)
    loader = torch.utils.data.DataLoader(data, batch_size=4, collate_fn=collate)
    batch = next(iter(loader))
    assert batch["codes"].shape == (4, 2, 12) and batch["codes"].dtype == torch.long
    assert batch["padding_mask"].shape == (4, 12) and batch["padding_mask"].dtype == torch.bool
    assert batch["padding_mask"].sum(1).tolist() == [12, 7, 12, 12]
    assert batch["texts"] == ["clip 0", "clip 1", "clip 2", "clip 3"]
    assert "text_embeds" not in batch


def test_bad_settings_are_refused(cache: datasets.Dataset) -> None:
    with pytest.raises(ValueError, match="seq_len"):
        CodesDataset(cache, seq_len=0)
    with pytest.raises(ValueError, match=r"n_q must be in \[1, 3\]"):
        CodesDataset(cache, seq_len=4, n_q=4)
    with pytest.raises(ValueError, match="--text-encoder"):
        CodesDataset(cache, seq_len=4, text_embeds=True)
    with pytest.raises(ValueError, match="no 'codes' column"):
        CodesDataset(cache.remove_columns("codes"), seq_len=4)


def test_rank_splits_cover_the_data_once(cache: datasets.Dataset) -> None:
    parts = [split_for_rank(cache, rank=r, world_size=4) for r in range(4)]
    texts = [t for p in parts for t in p["text"]]
    assert sorted(texts) == sorted(cache["text"]) and len(texts) == len(cache)
    with pytest.raises(ValueError, match="rank"):
        split_for_rank(cache, rank=4, world_size=4)


def test_variable_length_list_schemas_read_the_same(cache: datasets.Dataset) -> None:
    # A cache written with plain nested lists (no fixed K) must give the same items.
    loose = cache.cast_column(
        "codes", datasets.Sequence(datasets.Sequence(datasets.Value("int16")))
    )
    for index in range(len(LENGTHS)):
        a = CodesDataset(cache, seq_len=12, seed=1)[index]
        b = CodesDataset(loose, seq_len=12, seed=1)[index]
        assert torch.equal(a["codes"], b["codes"])
        assert torch.equal(a["padding_mask"], b["padding_mask"])


def test_items_carry_the_tempo_and_the_crop_start_for_the_clock(cache: datasets.Dataset) -> None:
    with_bpm = cache.add_column("tempo_bpm", [60.0, 72.5, 0.0, 100.0, 120.0, 90.0])
    data = CodesDataset(with_bpm, seq_len=12, seed=3)
    for epoch in range(3):
        data.set_epoch(epoch)
        item = data[0]
        start = int(item["codes"][0, 0]) - _source(cache, 0)[0, 0]
        assert item["frame_offset"] == start and item["bpm"] == 60.0
    assert np.isnan(data[2]["bpm"])  # 0 BPM (silence) is no tempo
    batch = collate([data[i] for i in range(4)])
    assert batch["bpm"].dtype == torch.float32 and batch["bpm"][1] == 72.5
    assert batch["frame_offset"].tolist()[1] == 0  # a clip shorter than the crop starts at 0
    # a cache without the column gives NaN tempi, which the clock reads as "no tempo"
    assert np.isnan(CodesDataset(cache, seq_len=12)[0]["bpm"])


def _with_attributes(cache: datasets.Dataset) -> datasets.Dataset:
    """`cache` plus the corpus's attribute columns, so short captions can be written."""
    n = len(cache)
    columns = {
        "instrument": ["cello", "flute", "piano", "trumpet", "oboe", "marimba"],
        "tempo_bpm": [60.0, 150.0, 96.0, 70.0, 130.0, 100.0],
        "tempo_word": ["slow", "fast", "moderate", "slow", "fast", "moderate"],
        "key": ["D", "F#", "C", "Bb", "E", "A"],
        "mode": ["minor", "major"] * 3,
        "register": ["high", "low", "middle"] * 2,
        "dynamics": ["soft", "loud", "medium"] * 2,
        "meter": ["4/4", "3/4"] * 3,
        "accompaniment": [None, "piano"] * 3,
        "style": ["chorale", "jig", "reel"] * 2,
    }
    for name, values in columns.items():
        cache = cache.add_column(name, values[:n])
    return cache


def test_partial_captions_replace_a_share_of_captions_reproducibly(
    cache: datasets.Dataset,
) -> None:
    rich = _with_attributes(cache)
    data = CodesDataset(rich, seq_len=12, seed=5, partial_captions=0.5)
    short, draws = 0, 0
    for epoch in range(30):
        data.set_epoch(epoch)
        for index in range(len(rich)):
            item = data[index]
            draws += 1
            if item["text"] != f"clip {index}":
                short += 1
                # the clock's tempo is given only when the caption names one
                assert np.isnan(item["bpm"]) == (caption_bpm(item["text"]) is None), item["text"]
            else:
                assert item["bpm"] == rich[index]["tempo_bpm"]
    assert 0.4 < short / draws < 0.6
    # the same (seed, epoch, index) gives the same caption, whatever was drawn before
    again = CodesDataset(rich, seq_len=12, seed=5, partial_captions=0.5)
    again.set_epoch(29)
    backwards = [again[i]["text"] for i in reversed(range(6))]
    assert backwards == [data[i]["text"] for i in range(6)][::-1]
    assert all(CodesDataset(rich, seq_len=12, partial_captions=1.0)[i]["text"] != f"clip {i}"
               for i in range(6))  # fmt: skip


def test_partial_captions_refuse_what_cannot_work(cache: datasets.Dataset) -> None:
    with pytest.raises(ValueError, match="share in \\[0, 1\\], got 1.5"):
        CodesDataset(_with_attributes(cache), seq_len=12, partial_captions=1.5)
    with pytest.raises(ValueError, match="lacks \\['accompaniment', 'dynamics'"):
        CodesDataset(cache, seq_len=12, partial_captions=0.5)
    with_embeds = _with_attributes(cache).add_column("text_embeds", [[[0.0]]] * len(cache))
    with pytest.raises(ValueError, match="text_embeds=False"):
        CodesDataset(with_embeds, seq_len=12, text_embeds=True, partial_captions=0.5)
