"""`prepare_cache`: codes match the codec, bad clips are listed, resume, shards, bad input."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from maskgmt.audio import read_audio
from maskgmt.cli import main
from maskgmt.data.cache import load_cache, merge_caches, read_skipped
from maskgmt.data.dataset import CodesDataset, collate
from maskgmt.data.prepare import prepare_cache


def _rows(cache_dir: Path) -> list[dict]:
    dataset, _ = load_cache(cache_dir)
    return [dict(row) for row in dataset]


@pytest.fixture(scope="module")
def one_run(manifest_path: Path, tmp_path_factory: pytest.TempPathFactory, make_codec) -> Path:
    """The manifest prepared in one unsharded run (shared by the comparisons below)."""
    out = tmp_path_factory.mktemp("caches") / "one"
    prepare_cache(manifest_path, out, codec=make_codec(), batch_size=3, progress=False)
    return out


def test_codes_match_the_codec_and_bad_clips_are_listed(
    manifest_path: Path, tmp_path: Path, make_codec, good_clips
) -> None:
    codec = make_codec()
    # max_padding 0.5 puts the 2.0 s and 1.9 s clips in one padded batch.
    report = prepare_cache(
        manifest_path, tmp_path / "c", codec=codec, batch_size=4, max_padding=0.5, progress=False
    )
    assert (report.kept, report.skipped) == (4, 2)
    assert report.skip_reasons == {"unreadable": 1, "too short": 1}
    assert "kept 4 clips" in report.summary() and "skipped 2" in report.summary()

    dataset, info = load_cache(tmp_path / "c")
    assert dataset.features["codes"].feature.feature.dtype == "int16"
    assert (info.n_q, info.codebook_size, info.frame_rate) == (4, 64, 50.0)
    assert info.codec == codec.identity() and info.num_clips == 4 and info.num_skipped == 2
    assert [Path(a).name for a in dataset["audio"]] == [c[0] for c in good_clips]  # manifest order
    reference = make_codec()
    for row, (_, seconds, _, _, caption, extra) in zip(dataset, good_clips, strict=True):
        wav, sr = read_audio(row["audio"])
        expected = reference.encode(wav[None], sr)[0]  # (K, T) of the clip alone
        assert np.array_equal(np.asarray(row["codes"]), expected.numpy())
        assert row["num_frames"] == expected.shape[-1]
        assert row["text"] == caption and row["duration"] == pytest.approx(seconds, abs=1e-3)
        for key, value in extra.items():
            assert row[key] == value
    assert info.frames == sum(dataset["num_frames"])

    skipped = {Path(r["audio"]).name: r for r in read_skipped(tmp_path / "c")}
    assert skipped["corrupt.wav"]["reason"].startswith("unreadable")
    assert skipped["short.wav"]["reason"].startswith("too short: 0.400 s")
    assert skipped["short.wav"]["index"] == 4  # position in the manifest


def test_crash_then_rerun_resumes_at_the_unfinished_chunk(
    manifest_path: Path, one_run: Path, tmp_path: Path, make_codec, crashing
) -> None:
    out = tmp_path / "c"
    kw = {"batch_size": 1, "chunk_size": 2, "max_padding": 0.0, "progress": False}
    with pytest.raises(crashing.Crash):
        prepare_cache(manifest_path, out, codec=crashing(make_codec)(), **kw)
    # Chunk 0 (a.wav, b.wav) is finished; chunk 1 died mid-way and must not count as done.
    assert sorted(p.name for p in (out / "chunks").iterdir() if not p.name.startswith(".")) == [
        "00000"
    ]
    with pytest.raises(FileNotFoundError, match="unfinished"):
        load_cache(out)
    with pytest.raises(ValueError, match="other input or settings"):
        prepare_cache(manifest_path, out, codec=make_codec(), min_seconds=0.1, **kw)

    half_written = out / "chunks" / ".tmp-00001-4242"  # what a SIGKILL mid-save leaves
    half_written.mkdir()
    (half_written / "data-00000-of-00001.arrow").write_bytes(b"truncated")
    codec = make_codec()
    report = prepare_cache(manifest_path, out, codec=codec, **kw)
    assert codec.clips == 2  # only c.wav and d.wav; the corrupt and short files never reach it
    assert (report.resumed_chunks, report.total_chunks, report.kept) == (1, 3, 4)
    assert not (out / "chunks").exists() and not (out / "prepare_state.json").exists()
    assert _rows(out) == _rows(one_run)
    assert read_skipped(out) == read_skipped(one_run)

    again = prepare_cache(manifest_path, out, codec=codec, **kw)  # finished: nothing to do
    assert codec.clips == 2 and again.kept == 4 and again.skipped == 2


def test_shards_merge_to_the_same_cache_as_one_run(
    manifest_path: Path, one_run: Path, tmp_path: Path, make_codec
) -> None:
    shards = []
    for index in range(3):
        shards.append(tmp_path / "shards" / f"s{index}")
        prepare_cache(
            manifest_path,
            shards[-1],
            codec=make_codec(),
            num_shards=3,
            shard_index=index,
            progress=False,
        )
    merged = tmp_path / "merged"
    info = merge_caches(list(reversed(shards)), merged, progress=False)  # order is restored
    assert info.num_clips == 4 and info.num_skipped == 2
    assert _rows(merged) == _rows(one_run)
    assert sorted(read_skipped(merged), key=lambda r: r["index"]) == read_skipped(one_run)
    # The parent folder of the shards loads as one dataset too, without merging.
    dataset, parent_info = load_cache(tmp_path / "shards")
    assert [dict(r) for r in dataset] == _rows(one_run) and parent_info.num_clips == 4

    argv = ["merge-caches", *map(str, shards), "--out", str(tmp_path / "cli"), "--no-progress"]
    assert main(argv) == 0 and _rows(tmp_path / "cli") == _rows(one_run)

    with pytest.raises(ValueError, match=r"shards \[1\] of 3"):
        merge_caches([shards[0], shards[2]], tmp_path / "partial", progress=False)
    with pytest.raises(ValueError, match="given twice|in both"):
        merge_caches([shards[0], shards[0], shards[1], shards[2]], tmp_path / "x", progress=False)


def test_text_embeddings_are_cached_and_batched(
    manifest_path: Path, tmp_path: Path, make_codec, good_clips, fake_text_encoder
) -> None:
    encoder = fake_text_encoder
    prepare_cache(
        manifest_path, tmp_path / "c", codec=make_codec(), text_encoder=encoder, progress=False
    )
    dataset, info = load_cache(tmp_path / "c")
    assert (info.text_encoder, info.text_dim) == ("fake-words", 8)
    items = CodesDataset(dataset, seq_len=50, text_embeds=True)
    batch = collate([items[i] for i in range(len(items))])
    lengths = [len(c[4].split()) for c in good_clips]
    assert batch["text_mask"].sum(1).tolist() == lengths
    assert batch["text_embeds"].shape == (4, max(lengths), 8)
    emb, _ = encoder.encode([good_clips[1][4]])
    torch.testing.assert_close(batch["text_embeds"][1, : lengths[1]], emb[0], atol=1e-2, rtol=1e-2)


def test_every_clip_skipped_is_an_error(clips_dir: Path, tmp_path: Path, make_codec) -> None:
    path = tmp_path / "bad.jsonl"
    rows = [
        {"audio": str(clips_dir / "corrupt.wav"), "text": "x"},
        {"audio": str(clips_dir / "short.wav"), "text": "y"},
        {"audio": str(clips_dir / "missing.wav"), "text": "z"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(ValueError, match="no clips left: all 3 clips were skipped"):
        prepare_cache(path, tmp_path / "c", codec=make_codec(), progress=False)
    reasons = [r["reason"] for r in read_skipped(tmp_path / "c")]
    assert reasons[2].startswith("missing file") and len(reasons) == 3


def test_bad_arguments_and_fields(
    manifest_path: Path, clips_dir: Path, tmp_path: Path, make_codec
) -> None:
    with pytest.raises(ValueError, match="shard_index must be in"):
        prepare_cache(
            manifest_path, tmp_path / "c", codec=make_codec(), num_shards=2, shard_index=2
        )
    with pytest.raises(ValueError, match="has no 'encode'"):
        prepare_cache(manifest_path, tmp_path / "c", codec=object())
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text(
        json.dumps({"audio": str(clips_dir / "a.wav"), "text": "x", "tempo_bpm": 90})
        + "\n"
        + json.dumps({"audio": str(clips_dir / "b.wav"), "text": "y", "tempo_bpm": "fast"})
        + "\n"
    )
    with pytest.raises(ValueError, match="field 'tempo_bpm' mixes types"):
        prepare_cache(mixed, tmp_path / "c", codec=make_codec())
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "stray.txt").write_text("not a cache")
    with pytest.raises(ValueError, match="not empty"):
        prepare_cache(manifest_path, tmp_path / "full", codec=make_codec(), progress=False)


def test_cli_prepares_a_captioned_folder(
    clips_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, make_codec
) -> None:
    import maskgmt.codecs

    seen = []
    monkeypatch.setattr(
        maskgmt.codecs,
        "load_codec",
        lambda name, **kw: seen.append(name) or make_codec(),
        raising=False,
    )
    out = tmp_path / "cache"
    argv = ["prepare", str(clips_dir), "--codec", "my-codec", "--out", str(out), "--no-progress"]
    assert main(argv) == 0
    assert seen == ["my-codec"]
    printed = capsys.readouterr().out
    assert "kept 4 clips" in printed and "skipped 2" in printed
    assert load_cache(out)[1].num_clips == 4

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"audio": "a.wav", "text": "ok"}\n{"audio": "b.wav"}\n')
    argv = ["prepare", str(bad), "--codec", "my-codec", "--out", str(tmp_path / "x")]
    assert main(argv) == 2
    assert "bad.jsonl:2: missing 'text'" in capsys.readouterr().err


def test_real_spectral_codec_codes_match_encoding_each_file(
    manifest_path: Path, clips_dir: Path, tmp_path: Path, good_clips
) -> None:
    from maskgmt.codecs.spectral import SpectralCodec, SpectralCodecConfig

    config = SpectralCodecConfig(n_q=2, codebook_size=8, griffin_lim_iters=1)
    files = [clips_dir / name for name, *_ in good_clips]
    fitted = SpectralCodec.fit_files(files, config=config, kmeans_iters=2, progress=False)
    fitted.save(tmp_path / "codec")
    codec = SpectralCodec.load(tmp_path / "codec")
    report = prepare_cache(  # by folder, through maskgmt.codecs.load_codec
        manifest_path,
        tmp_path / "c",
        codec=str(tmp_path / "codec"),
        max_padding=0.0,
        progress=False,
    )
    assert (report.kept, report.skipped) == (4, 2)
    dataset, info = load_cache(tmp_path / "c")
    assert info.codec == json.loads(json.dumps(codec.identity()))
    assert (info.n_q, info.frame_rate) == (2, 75.0)
    for row in dataset:
        wav, sr = read_audio(row["audio"])
        expected = codec.encode(wav[None], sr)[0]  # (K, T)
        assert np.array_equal(np.asarray(row["codes"]), expected.numpy())
    # Padded batches (2.0 s and 1.9 s together) keep every clip's frame count, and differ
    # from encoding alone at most in the last frames, where the STFT window saw the padding.
    prepare_cache(
        manifest_path, tmp_path / "p", codec=codec, max_padding=0.5, batch_size=4, progress=False
    )
    for alone, padded in zip(dataset, load_cache(tmp_path / "p")[0], strict=True):
        a, b = np.asarray(alone["codes"]), np.asarray(padded["codes"])
        assert a.shape == b.shape
        assert np.array_equal(a[:, :-2], b[:, :-2])


def test_sigkill_mid_run_leaves_a_resumable_cache(
    manifest_path: Path, one_run: Path, tmp_path: Path, make_codec
) -> None:
    out = tmp_path / "c"
    script = tmp_path / "run.py"
    helpers = Path(__file__).parent / "conftest.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import importlib.util, time
            spec = importlib.util.spec_from_file_location("helpers", {str(helpers)!r})
            helpers = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(helpers)

            class Slow(helpers.FakeCodec):  # slow enough to be killed mid-chunk
                def encode(self, wav, sample_rate):
                    time.sleep(0.3)
                    return super().encode(wav, sample_rate)

            from maskgmt.data.prepare import prepare_cache
            prepare_cache({str(manifest_path)!r}, {str(out)!r}, codec=Slow(), batch_size=1,
                          chunk_size=2, max_padding=0.0, progress=False)
            """
        )
    )
    proc = subprocess.Popen([sys.executable, str(script)])
    try:
        deadline = time.monotonic() + 120
        while not (out / "chunks" / "00000" / "meta.json").exists():
            assert proc.poll() is None and time.monotonic() < deadline, "prepare never got going"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert not (out / "cache_info.json").exists()
    codec = make_codec()
    report = prepare_cache(
        manifest_path, out, codec=codec, batch_size=1, chunk_size=2, max_padding=0.0, progress=False
    )
    assert report.resumed_chunks >= 1 and codec.clips <= 2
    assert _rows(out) == _rows(one_run)
