"""The Python API refuses what it cannot use with a ValueError or TypeError that names the
argument or the file, instead of an AssertionError, an overflow or a JSON traceback."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from maskgmt.codecs.spectral import SpectralCodec, SpectralCodecConfig
from maskgmt.data.manifest import manifest_from_folder, read_manifest
from maskgmt.pipeline import TextToMusic

from .conftest import SR, _tones


@pytest.fixture(scope="module")
def pipe(model_dir: Path) -> TextToMusic:
    return TextToMusic.from_pretrained(model_dir)


def test_from_pretrained_refuses_a_device_this_torch_lacks(model_dir: Path, monkeypatch) -> None:
    from maskgmt.model.checks import check_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match=r"device cuda: this torch has no usable CUDA.*'cpu'"):
        TextToMusic.from_pretrained(model_dir, device="cuda")
    with pytest.raises(ValueError, match="device: unknown torch device 'tpu'"):
        TextToMusic.from_pretrained(model_dir, device="tpu")
    with pytest.raises(TypeError, match="model_dir: expected a folder path"):
        TextToMusic.from_pretrained(123)
    assert check_device("cpu") == torch.device("cpu")


def test_generate_refuses_bytes_and_infinite_numbers(pipe: TextToMusic) -> None:
    with pytest.raises(ValueError, match="texts: expected a list of captions .* got bytes"):
        pipe.generate(b"a calm piano", seconds=0.2, steps=1)
    for name in ("temperature", "cond_scale", "choice_temperature"):
        match = rf"{name}: expected a number in \[0.0, inf\), got inf"
        with pytest.raises(ValueError, match=match):
            pipe.generate(["x"], seconds=0.2, steps=1, **{name: math.inf})


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"seed": 2**70}, r"seed: expected an int in \[-2\*\*63, 2\*\*64 - 1\]"),
        ({"seed": 1.5}, "seed: expected an int"),
        ({"max_seconds": math.inf}, "max_seconds: expected a finite number > 0"),
        ({"max_seconds": math.nan}, "max_seconds: expected a finite number > 0"),
        ({"kmeans_iters": -1}, "kmeans_iters: expected an int >= 0"),
    ],
)
def test_codec_fit_refuses_bad_arguments(kwargs: dict, match: str) -> None:
    config = SpectralCodecConfig(n_q=1, codebook_size=4, griffin_lim_iters=1)
    with pytest.raises(ValueError, match=match):
        SpectralCodec.fit([_tones(0.5, 220.0)], sample_rate=SR, config=config, **kwargs)


def test_a_manifest_folder_and_an_audio_file_are_called_what_they_are(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="is a folder; pass a JSONL file"):
        read_manifest(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_manifest(tmp_path / "none.jsonl")
    a_file = tmp_path / "a.wav"
    a_file.write_bytes(b"RIFF")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        manifest_from_folder(a_file)


@pytest.mark.parametrize("damage", ["classifier.json", "classifier.safetensors"])
def test_a_damaged_classifier_names_its_file(tmp_path: Path, damage: str) -> None:
    from safetensors.numpy import save_file

    from maskgmt.eval.instrument import InstrumentClassifier

    folder = tmp_path / "clf"
    folder.mkdir()
    (folder / "classifier.json").write_text(json.dumps({"classes": ["piano"]}))
    save_file({"mean": np.zeros(2, dtype=np.float32)}, str(folder / "classifier.safetensors"))
    (folder / damage).write_bytes(b'{"classes": ')
    with pytest.raises(ValueError, match=rf"{damage} is not"):
        InstrumentClassifier.load(folder)


def test_a_damaged_score_cache_is_parsed_again(tmp_path: Path, monkeypatch) -> None:
    from maskgmt.data.corpus import scores
    from maskgmt.data.corpus.catalog import PieceRef

    ref = PieceRef(piece="bach/x", source="bach", path="x.mxl", number=None, style="chorale")
    cached = scores._cache_file(tmp_path, ref)
    cached.parent.mkdir(parents=True)
    cached.write_text('{"piece": ')  # cut short by a kill
    monkeypatch.setattr(scores, "parse_piece", lambda r: (_ for _ in ()).throw(
        scores.ScoreSkipped("too short")))  # fmt: skip
    assert scores.load_piece(ref, tmp_path) == "too short"
    assert json.loads(cached.read_text()) == {"skipped": "too short"}  # written again, whole


def test_export_never_takes_a_codec_from_the_current_folder(tmp_path: Path, monkeypatch) -> None:
    from maskgmt.train.export import _local_codec_folder

    (tmp_path / "facebook" / "encodec_24khz").mkdir(parents=True)  # not the hub codec
    monkeypatch.chdir(tmp_path)
    cache = tmp_path / "cache"
    cache.mkdir()
    assert _local_codec_folder("facebook/encodec_24khz", cache) is None
    assert _local_codec_folder(str(tmp_path / "facebook"), cache) == tmp_path / "facebook"
    (cache / "codec").mkdir()
    assert _local_codec_folder("codec", cache) == cache / "codec"
