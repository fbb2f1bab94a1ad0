"""Every command checks its options before the work (no corpus rendered, no model loaded) and
ends bad input with one line on stderr and exit code 2: seeds torch cannot take, unbounded or
NaN lengths, folders where files go and files where folders go, unreadable YAML."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import soundfile as sf

from maskgmt.cli import main

from .conftest import SR, _tones, fails


@pytest.fixture
def wav(tmp_path: Path) -> Path:
    path = tmp_path / "clips" / "v.wav"
    path.parent.mkdir()
    sf.write(path, _tones(1.0, 220.0)[0].numpy(), SR)
    return path


@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    path = tmp_path / "file.txt"
    path.write_text("x")
    return path


# ---------------------------------------------------------------- codec fit


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--seed", str(2**70)], "--seed: expected an int in [-2**63, 2**64 - 1]"),
        (["--max-seconds", "inf"], "max_seconds: expected a finite number > 0"),
        (["--kmeans-iters", "-1"], "--kmeans-iters: expected >= 0"),
    ],
)
def test_codec_fit_refuses_what_torch_cannot_take(
    extra: list, match: str, wav: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "codec"
    fit = ["codec", "fit", wav.parent, "-o", out, "--n-q", "1", "--codebook-size", "4"]
    fails([*fit, "--no-progress", *extra], capsys, match)
    assert not out.exists()


def test_prepare_refuses_a_zero_batch(wav: Path, model_dir: Path, tmp_path: Path, capsys) -> None:
    argv = ["prepare", wav.parent, "--codec", model_dir / "codec", "--out", tmp_path / "cache"]
    fails([*argv, "--batch-size", "0"], capsys, "--batch-size: expected >= 1, got 0")
    assert not (tmp_path / "cache").exists()


# ---------------------------------------------------------------- corpus build, demo


def test_corpus_build_names_a_folder_and_a_file_for_what_they_are(
    tmp_path: Path, a_file: Path, capsys
) -> None:
    build = ["corpus", "build", "--clips", "1", "--no-progress", "--out"]
    fails([*build, tmp_path / "c1", "--soundfont", tmp_path], capsys, "is a folder; pass the path")
    fails([*build, tmp_path / "c2", "--cache-dir", a_file], capsys, "--cache-dir")
    fails([*build, tmp_path / "c3", "--cache-dir", a_file / "x"], capsys, "is a file, not a folder")
    assert not any((tmp_path / c).exists() for c in ("c1", "c2", "c3"))


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--minutes", "nan"], "train_minutes: expected a finite number > 0"),
        (["--minutes", "inf"], "train_minutes: expected a finite number > 0"),
        (["--sample-seconds", "1e9"], "sample_seconds: expected a length in (0, 3600]"),
        (["--sample-seconds", "0"], "sample_seconds: expected a length in (0, 3600]"),
        (["--seed", str(2**70)], "seed: expected an integer in [0, 2**63 - clips)"),
        (["--codebook-size", "0"], "codebook_size: expected >= 2"),
        (["--eval-clips", "-1"], "eval_clips: expected >= 0"),
        (["--max-steps", "0"], "max_steps: expected >= 1"),
        (["--preset", "huge"], "preset must be one of ['base', 'small', 'tiny']"),
    ],
)
def test_demo_checks_its_options_before_the_corpus(
    extra: list, match: str, tmp_path: Path, capsys, monkeypatch
) -> None:
    def started(*args, **kwargs):
        raise AssertionError("the demo began its work before checking its options")

    monkeypatch.setattr("maskgmt.demo.build_corpus", started)
    out = tmp_path / "demo"
    fails(["demo", "--out", out, *extra], capsys, match)
    assert not out.exists()


def test_demo_out_must_be_a_folder(a_file: Path, capsys) -> None:
    fails(["demo", "--out", a_file], capsys, "is a file, but a folder is needed")
    fails(["demo", "--out", a_file / "d"], capsys, "is a file, not a folder")
    assert a_file.read_text() == "x"


# ---------------------------------------------------------------- eval


def test_eval_checks_paths_and_window_first(
    tmp_path: Path, model_dir: Path, wav: Path, a_file: Path, capsys
) -> None:
    split = tmp_path / "test.jsonl"
    split.write_text(f'{{"audio": "{wav}", "text": "a tone"}}\n')
    run = ["eval", "--split", split, "--out", tmp_path / "r", "--no-progress"]
    gen = [*run, "--model", model_dir]
    fails([*gen, "--cache-dir", a_file], capsys, "--cache-dir")
    fails([*gen, "--window-seconds", "inf"], capsys, "window_seconds: expected the model's window")
    fails([*gen, "--window-seconds", "nan"], capsys, "window_seconds: expected the model's window")
    fails([*gen, "--train-split", wav.parent], capsys, "is a folder; pass a JSONL file")
    fails(["eval", "--split", wav.parent, "--out", tmp_path / "r", "--model", model_dir],
          capsys, "is a folder; pass a JSONL file")  # fmt: skip
    fails([*run, "--audio-dir", a_file], capsys, "is a file; pass the folder of generated audio")
    fails([*run, "--audio-dir", tmp_path / "none"], capsys, "is missing; pass the folder")
    assert not (tmp_path / "r").exists()


# ---------------------------------------------------------------- generate, train


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--top-k", "0"], "--top-k: expected >= 1"),
        (["--top-p", "2"], "--top-p: expected a number in (0.0, 1.0]"),
        (["--temperature", "nan"], "--temperature: expected a number in [0.0, inf)"),
        (["--cond-scale", "-1"], "--cond-scale: expected a number in [0.0, inf)"),
        (["--choice-temperature", "inf"], "--choice-temperature: expected a number"),
    ],
)
def test_sampling_options_are_checked_before_the_model_loads(
    extra: list, match: str, tmp_path: Path, capsys
) -> None:
    missing = tmp_path / "no-model"  # never read: the checks come first
    fails(["generate", "x", "-o", tmp_path / "x.wav", "--model", missing, *extra], capsys, match)


def test_an_error_after_the_bar_has_a_line_of_its_own(
    tmp_path: Path, model_dir: Path, capsys
) -> None:
    argv = ["generate", "x", "-o", tmp_path / "x.wav", "--model", model_dir, "--steps", "1,2,3"]
    assert main([str(a) for a in argv]) == 2
    last = capsys.readouterr().err.replace("\r", "\n").strip().splitlines()[-1]
    assert last.startswith("error: steps: expected at most one count per codec level (2)"), last


@pytest.mark.skipif(not Path("/dev/null").exists(), reason="needs /dev/null")
def test_a_batch_file_that_is_no_regular_file_is_named_so(
    tmp_path: Path, model_dir: Path, capsys
) -> None:
    argv = ["generate", "--batch-file", os.devnull, "--model", model_dir, "--out", tmp_path / "o"]
    fails(argv, capsys, "is not a regular file")


def test_train_refuses_nan_minutes_and_non_finite_config(
    tmp_path: Path, a_file: Path, capsys
) -> None:
    data = tmp_path / "no-cache"  # never read: the checks come first
    run = ["train", "--data", data, "--out", tmp_path / "run"]
    fails([*run, "--max-minutes", "nan"], capsys, "max_minutes must be > 0, got nan")
    config = tmp_path / "c.yaml"
    config.write_text("optim: {lr: .inf}\n")
    fails([*run, "--config", config], capsys, "'optim.lr' must be a finite number, got inf")
    config.write_text("optim: {lr: 1e-3\n")
    err = fails([*run, "--config", config], capsys, "c.yaml: not valid YAML (expected ',' or '}'")
    assert "at line 2, column 1" in err


# ---------------------------------------------------------------- what no check foresees


def test_an_os_error_while_writing_is_one_line(
    tmp_path: Path, wav: Path, model_dir: Path, capsys, monkeypatch
) -> None:
    codes = tmp_path / "c.safetensors"
    assert main(["tokenize", str(wav), "-o", str(codes), "--codec", str(model_dir / "codec")]) == 0

    def denied(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("maskgmt.audio.write_audio", denied)
    capsys.readouterr()
    fails(["detokenize", codes, "-o", tmp_path / "y.wav"], capsys, "Permission denied")
