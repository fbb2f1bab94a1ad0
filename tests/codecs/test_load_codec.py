"""load_codec: short names, hub ids, saved folders, and clear errors for everything else."""

from __future__ import annotations

import pytest

from maskgmt.codecs import EncodecCodec, SpectralCodec, load_codec


def test_saved_spectral_folder_loads_as_spectral(tiny_codec, tmp_path):
    folder = tiny_codec.save(tmp_path / "spectral")
    codec = load_codec(folder)
    assert isinstance(codec, SpectralCodec)
    assert codec.identity() == tiny_codec.identity()
    with pytest.raises(ValueError, match="bandwidth applies to EnCodec only"):
        load_codec(folder, bandwidth=6.0)


def test_tiny_encodec_folder_loads_as_encodec(tmp_path):
    small = {"num_filters": 4, "num_lstm_layers": 1, "codebook_size": 64}
    codec = EncodecCodec.from_config("24khz", config_overrides=small, bandwidth=1.5)
    codec.save(tmp_path / "enc")
    loaded = load_codec(tmp_path / "enc", bandwidth=1.5)
    assert isinstance(loaded, EncodecCodec) and loaded.codebook_size == 64


@pytest.mark.parametrize("name", ["encodec", "t5-base", "spectral", "minilm"])
def test_unknown_name_lists_what_is_accepted(name):
    with pytest.raises(ValueError, match=f"unknown codec '{name}'.*encodec_24khz.*encodec_32khz"):
        load_codec(name)


def test_missing_folder_and_wrong_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_codec(str(tmp_path / "no" / "such" / "codec"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="neither spectral_codec.json"):
        load_codec(tmp_path / "empty")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "config.json").write_text('{"model_type": "t5"}')
    with pytest.raises(ValueError, match="not an EnCodec one"):
        load_codec(tmp_path / "other")
    with pytest.raises(ValueError, match="codec must be a name or folder"):
        load_codec("")
