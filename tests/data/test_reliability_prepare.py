"""`prepare` resuming over a finished chunk that was damaged afterwards re-encodes that chunk
(and says so) instead of dying with a pyarrow traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from maskgmt.data.cache import load_cache
from maskgmt.data.prepare import prepare_cache


class Crash(BaseException):  # like a kill: not an Exception, so nothing catches it
    pass


@pytest.mark.parametrize("damage", ["arrow", "meta"])
def test_a_truncated_finished_chunk_is_encoded_again(
    manifest_path: Path, tmp_path: Path, make_codec, damage: str, capsys
) -> None:
    class CrashingCodec(make_codec):
        def encode(self, wav: torch.Tensor, sample_rate: int) -> torch.Tensor:
            if self.clips >= 2:
                raise Crash
            return super().encode(wav, sample_rate)

    kw = {"batch_size": 1, "chunk_size": 2, "max_padding": 0.0, "progress": False}
    straight = prepare_cache(manifest_path, tmp_path / "one", codec=make_codec(), **kw)
    out = tmp_path / "c"
    with pytest.raises(Crash):
        prepare_cache(manifest_path, out, codec=CrashingCodec(), **kw)
    chunk = out / "chunks" / "00000"
    file = next(chunk.glob("*.arrow")) if damage == "arrow" else chunk / "meta.json"
    data = file.read_bytes()
    file.write_bytes(data[: len(data) // 2])
    capsys.readouterr()

    codec = make_codec()
    report = prepare_cache(manifest_path, out, codec=codec, **kw)
    err = capsys.readouterr().err
    assert "00000" in err and "is damaged" in err and "encoding its clips again" in err
    assert codec.clips == 4  # a, b (chunk 0 again) and c, d
    assert report.resumed_chunks == 0 and report.kept == straight.kept
    rows = [dict(r) for r in load_cache(out)[0]]
    assert rows == [dict(r) for r in load_cache(tmp_path / "one")[0]]
