"""Codes of two codecs of the SAME shape (K levels of V codes, same rates) must never be mixed:
merging shard caches and resuming an interrupted or finished prepare refuse another codec."""

from __future__ import annotations

from pathlib import Path

import pytest

from maskgmt.data.cache import load_cache, merge_caches
from maskgmt.data.prepare import prepare_cache


@pytest.fixture(scope="module")
def refit(make_codec):
    """A FakeCodec whose identity carries a fingerprint of its projection, as the real codecs'
    do: two seeds are two codecs of one shape (a refit), told apart only by the fingerprint."""

    class Refit(make_codec):
        def identity(self) -> dict:
            digest = hash(tuple(self.projection.flatten().tolist())) & 0xFFFFFFFF
            return {**super().identity(), "fingerprint": f"{digest:08x}"}

    assert Refit(seed=0).identity() != Refit(seed=1).identity()
    return Refit


def _same_shape(a, b) -> None:
    ia, ib = a.identity(), b.identity()
    for key in ("kind", "n_q", "codebook_size", "sample_rate", "frame_rate"):
        assert ia[key] == ib[key], key


def test_merging_shards_of_two_codecs_is_refused(
    manifest_path: Path, tmp_path: Path, refit
) -> None:
    a, b = refit(seed=0), refit(seed=1)
    _same_shape(a, b)
    shards = [tmp_path / "shards" / "s0", tmp_path / "shards" / "s1"]
    for index, (codec, out) in enumerate(zip((a, b), shards, strict=True)):
        prepare_cache(
            manifest_path, out, codec=codec, num_shards=2, shard_index=index, progress=False
        )
    with pytest.raises(ValueError, match="differ in codec.*same codec"):
        merge_caches(shards, tmp_path / "merged", progress=False)
    assert not (tmp_path / "merged").exists()
    # The parent folder of the shards loads as one cache only when every shard agrees.
    with pytest.raises(ValueError, match="differ in codec"):
        load_cache(tmp_path / "shards")


def test_resuming_an_interrupted_prepare_with_another_codec_is_refused(
    manifest_path: Path, tmp_path: Path, refit, crashing
) -> None:
    out = tmp_path / "c"
    kw = {"batch_size": 1, "chunk_size": 2, "max_padding": 0.0, "progress": False}
    with pytest.raises(crashing.Crash):
        prepare_cache(manifest_path, out, codec=crashing(refit)(seed=0), **kw)
    other = refit(seed=1)
    with pytest.raises(ValueError, match="unfinished cache from other input or settings"):
        prepare_cache(manifest_path, out, codec=other, **kw)
    assert other.clips == 0  # refused before encoding anything
    same = refit(seed=0)
    prepare_cache(manifest_path, out, codec=same, **kw)  # the codec it began with resumes
    assert same.clips == 2
    _, info = load_cache(out)
    assert info.codec == same.identity()


def test_a_finished_cache_is_not_taken_for_another_codecs(
    manifest_path: Path, tmp_path: Path, refit
) -> None:
    out = tmp_path / "c"
    prepare_cache(manifest_path, out, codec=refit(seed=0), progress=False)
    other = refit(seed=1)
    with pytest.raises(ValueError, match="already holds a token cache made from other input"):
        prepare_cache(manifest_path, out, codec=other, progress=False)
    assert other.clips == 0
