"""With no model folder, generate / TextToMusic.from_pretrained() find the shipped model, and a
missing one is a message that names its path (the twin of the packaged model: the test folder)."""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile as sf

from maskgmt.cli import main
from maskgmt.pipeline import TextToMusic
from maskgmt.pretrained import DEFAULT_NAME, ENV_VAR, default_model_dir, require_default_model

from .conftest import SR


def test_the_default_is_the_packaged_folder_unless_overridden(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    packaged = default_model_dir()
    assert packaged.name == DEFAULT_NAME and packaged.parent.name == "pretrained"
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    assert default_model_dir() == tmp_path


def test_a_missing_shipped_model_names_its_path_and_the_fixes(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "gone"))
    with pytest.raises(FileNotFoundError) as e:
        require_default_model()
    msg = str(e.value)
    assert str(tmp_path / "gone") in msg and "config.json" in msg and "--model" in msg
    with pytest.raises(FileNotFoundError, match="shipped maskgmt model is missing"):
        TextToMusic.from_pretrained()


def test_from_pretrained_with_no_argument_loads_the_default(monkeypatch, model_dir: Path) -> None:
    monkeypatch.setenv(ENV_VAR, str(model_dir))
    pipe = TextToMusic.from_pretrained()
    explicit = TextToMusic.from_pretrained(model_dir)
    assert pipe.model.transformer.config == explicit.model.transformer.config
    sd, ref = pipe.model.state_dict(), explicit.model.state_dict()
    assert all((sd[k] == ref[k]).all() for k in ref)


def test_generate_without_model_uses_the_default(monkeypatch, model_dir: Path, tmp_path) -> None:
    monkeypatch.setenv(ENV_VAR, str(model_dir))
    out = tmp_path / "song.wav"
    rc = main(["generate", "a calm piano piece", "-o", str(out), "--seconds", "0.5",
               "--steps", "2", "--seed", "1"])  # fmt: skip
    assert rc == 0
    audio, sr = sf.read(out)
    assert sr == SR and len(audio) == round(0.5 * SR)


def test_generate_without_model_and_no_shipped_model_is_a_clear_error(
    monkeypatch, tmp_path, capsys
) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "gone"))
    rc = main(["generate", "a calm piano piece", "-o", str(tmp_path / "x.wav")])
    err = capsys.readouterr().err
    assert rc != 0 and "shipped maskgmt model is missing" in err and "Traceback" not in err
    assert not (tmp_path / "x.wav").exists()
