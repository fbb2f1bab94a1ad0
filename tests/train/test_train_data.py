"""Held-out split and the resumable, rank-sharded batch order."""

from __future__ import annotations

import datasets

from maskgmt.train.data import BatchOrder, split_indices


def test_split_holds_out_whole_pieces() -> None:
    pieces = [f"p{i // 3}" for i in range(30)]  # 10 pieces, 3 renderings each
    ds = datasets.Dataset.from_dict({"piece": pieces, "text": ["x"] * 30})
    train, val = split_indices(ds, val_fraction=0.2, max_val_clips=100, seed=0)
    assert sorted(train + val) == list(range(30)) and len(val) == 6
    assert not {pieces[i] for i in train} & {pieces[i] for i in val}
    assert split_indices(ds, val_fraction=0.2, max_val_clips=100, seed=1)[1] != val  # seeded
    no_piece = datasets.Dataset.from_dict({"text": ["x"] * 30})
    assert len(split_indices(no_piece, val_fraction=0.1, max_val_clips=2, seed=0)[1]) == 2
    assert split_indices(no_piece, val_fraction=0.0, max_val_clips=2, seed=0)[1] == []


def test_batch_order_shards_ranks_and_is_seeded() -> None:
    indices = tuple(range(100, 123))  # 23 clips
    ranks = [
        BatchOrder(indices=indices, batch_size=4, seed=3, rank=r, world_size=2) for r in (0, 1)
    ]
    e0 = [order.epoch(0) for order in ranks]
    assert all(len(batches) == 2 for batches in e0)  # 23 // (4 * 2): equal steps on each rank
    seen = [i for batches in e0 for batch in batches for i in batch]
    assert len(seen) == len(set(seen)) == 16 and set(seen) <= set(indices)
    assert ranks[0].epoch(0) == e0[0] and ranks[0].epoch(1) != e0[0]  # fixed per epoch
    tiny = BatchOrder(indices=(1, 2, 3), batch_size=4, seed=0)
    assert len(tiny.epoch(0)) == 1 and len(tiny.epoch(0)[0]) == 4  # repeated to fill a batch
