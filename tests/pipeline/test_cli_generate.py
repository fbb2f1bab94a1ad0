"""`maskgmt generate`: a caption or a file of captions in, WAV (and PNG) files out."""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile as sf

from maskgmt.cli import main
from maskgmt.cli.generate import parse_steps

from .conftest import SR


def test_writes_a_wav_of_the_requested_length_and_a_spectrogram(model_dir: Path, tmp_path) -> None:
    out = tmp_path / "song.wav"
    rc = main(
        [
            "generate",
            "a calm piano piece",
            "-o",
            str(out),
            "--model",
            str(model_dir),
            "--seconds",
            "0.8",
            "--steps",
            "2",
            "--seed",
            "1",
            "--spectrogram",
        ]
    )
    assert rc == 0
    audio, sr = sf.read(out)
    assert sr == SR and len(audio) == round(0.8 * SR)
    assert out.with_suffix(".png").stat().st_size > 1000


def test_batch_file_writes_one_wav_per_caption(model_dir: Path, tmp_path) -> None:
    captions = tmp_path / "captions.txt"
    captions.write_text("# comment\na slow cello\n\nfast banjo\n")
    out = tmp_path / "outs"
    rc = main(
        [
            "generate",
            "--batch-file",
            str(captions),
            "-o",
            str(out),
            "--model",
            str(model_dir),
            "--seconds",
            "0.5",
            "--steps",
            "1",
            "--negative",
            "noise",
        ]
    )
    assert rc == 0
    files = sorted(out.glob("*.wav"))
    assert [f.name for f in files] == ["000_a-slow-cello.wav", "001_fast-banjo.wav"]
    assert all(len(sf.read(f)[0]) == SR // 2 for f in files)


def test_prompt_audio_continuation(model_dir: Path, tmp_path) -> None:
    prompt = tmp_path / "prompt.wav"
    rc = main(
        [
            "generate",
            "a hymn",
            "-o",
            str(prompt),
            "--model",
            str(model_dir),
            "--seconds",
            "0.4",
            "--steps",
            "1",
        ]
    )
    assert rc == 0 and prompt.is_file()  # codes surviving: test_cli_options.py
    out = tmp_path / "longer.wav"
    rc = main(
        [
            "generate",
            "a hymn",
            "-o",
            str(out),
            "--model",
            str(model_dir),
            "--seconds",
            "1",
            "--steps",
            "1",
            "--prompt-audio",
            str(prompt),
        ]
    )
    assert rc == 0 and len(sf.read(out)[0]) == SR


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--steps", "4,x"], "--steps"),
        (["--steps", "0"], "--steps"),
        (["--batch-file", "nowhere.txt"], "exactly one"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(model_dir: Path, tmp_path, capsys, args, message) -> None:
    rc = main(["generate", "x", "-o", str(tmp_path / "o.wav"), "--model", str(model_dir), *args])
    assert rc == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_missing_model_folder_is_a_clear_error(tmp_path, capsys) -> None:
    rc = main(["generate", "x", "-o", str(tmp_path / "o.wav"), "--model", str(tmp_path / "m")])
    assert rc == 2 and "not a maskgmt model folder" in capsys.readouterr().err


def test_parse_steps() -> None:
    assert parse_steps(None) is None
    assert parse_steps("12") == 12
    assert parse_steps("16, 8,4") == (16, 8, 4)
