"""The CLI never destroys its input, checks every argument before the work, and ends bad input
with one line on stderr and exit code 2 (no traceback)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import soundfile as sf
import torch

from maskgmt.cli import main

from .conftest import SR, _tones, fails


@pytest.fixture
def wav(tmp_path: Path) -> Path:
    path = tmp_path / "v.wav"
    sf.write(path, _tones(1.0, 220.0)[0].numpy(), SR)
    return path


# ---------------------------------------------------------------- 1, 2: no data loss


def test_tokenize_refuses_to_overwrite_its_input(wav: Path, model_dir: Path, capsys) -> None:
    before = wav.read_bytes()
    codec = model_dir / "codec"
    fails(["tokenize", wav, "-o", wav, "--codec", codec], capsys, "is the input file")
    other = wav.parent / "sub" / ".." / "v.wav"
    fails(["tokenize", wav, "-o", other, "--codec", codec], capsys, "is the input file")
    assert wav.read_bytes() == before


def test_tokenize_refuses_a_codes_file_under_an_audio_suffix(
    wav: Path, model_dir: Path, capsys
) -> None:
    out = wav.parent / "codes.wav"
    fails(["tokenize", wav, "-o", out, "--codec", model_dir / "codec"], capsys, "codes.safetensors")
    assert not out.exists()


def test_codec_fit_refuses_a_non_empty_folder_unless_overwrite(
    wav: Path, model_dir: Path, tmp_path: Path, capsys
) -> None:
    target = tmp_path / "codec"
    target.mkdir()
    (target / "keep.txt").write_text("a model's codec")
    args = ["codec", "fit", wav.parent, "-o", target, "--n-q", "1", "--codebook-size", "4"]
    fails(args, capsys, "--overwrite")
    assert (target / "keep.txt").read_text() == "a model's codec"
    assert (
        main([str(a) for a in [*args, "--kmeans-iters", "1", "--no-progress", "--overwrite"]]) == 0
    )


# ---------------------------------------------------------------- 6: --seconds, before loading


@pytest.mark.parametrize("seconds", ["1e9", "inf", "nan", "0", "-1", "3600.5"])
def test_seconds_is_bounded_before_any_model_loads(seconds: str, tmp_path: Path, capsys) -> None:
    missing = tmp_path / "no-model"  # never read: the check comes first
    out = tmp_path / "x.wav"
    fails(
        ["generate", "x", "-o", out, "--model", missing, "--seconds", seconds],
        capsys,
        "--seconds: expected a length in seconds in (0, 3600]",
    )


# ---------------------------------------------------------------- 8, 10: one-line messages


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--batch-size", "0"], "--batch-size: expected >= 1"),
        (["--seed", str(2**70)], "--seed: expected an int in"),
        (["--device", "cuda"], "--device cuda: this torch has no usable CUDA GPU"),
        (["--device", "tpu9"], "--device: unknown torch device"),
    ],
)
def test_generate_options_are_checked_first(
    extra: list[str], match: str, tmp_path: Path, capsys, monkeypatch
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    argv = ["generate", "x", "-o", tmp_path / "x.wav", "--model", tmp_path / "none", *extra]
    fails(argv, capsys, match)


@pytest.mark.parametrize("command", ["tokenize", "prepare"])
def test_cuda_on_cpu_torch_is_a_message(
    command: str, wav: Path, model_dir: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    codec = model_dir / "codec"
    argv = {
        "tokenize": ["tokenize", wav, "-o", tmp_path / "c.safetensors", "--codec", codec],
        "prepare": ["prepare", wav.parent, "--codec", codec, "--out", tmp_path / "cache"],
    }[command]
    fails([*argv, "--device", "cuda"], capsys, "--device cuda: this torch has no usable CUDA")


def test_output_paths_are_checked_before_the_work(
    wav: Path, model_dir: Path, tmp_path: Path, capsys
) -> None:
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    a_dir = tmp_path / "dir"
    a_dir.mkdir()
    captions = tmp_path / "captions.txt"
    captions.write_text("a\nb\n")
    codes = tmp_path / "c.safetensors"
    assert main(["tokenize", str(wav), "-o", str(codes), "--codec", str(model_dir / "codec")]) == 0
    capsys.readouterr()
    gen = ["generate", "x", "--model", model_dir, "--seconds", "0.2", "--steps", "1", "-o"]
    fails([*gen, a_dir], capsys, "is a folder; give a file path")
    fails([*gen, a_file / "x.wav"], capsys, "is a file, not a folder")
    batch = ["generate", "--batch-file", captions, "--model", model_dir, "--out"]
    fails([*batch, a_file], capsys, "is a file, but a folder is needed")
    fails([*batch, a_file / "sub"], capsys, "is a file, not a folder")
    fails(["train", "--data", tmp_path, "--out", a_file], capsys, "a folder is needed")
    fails(["corpus", "build", "--clips", "1", "--out", a_file / "c"], capsys, "not a folder")
    fails(["tokenize", wav, "-o", a_dir, "--codec", model_dir / "codec"], capsys, "is a folder")
    fails(["detokenize", codes, "-o", tmp_path / "x.safetensors"], capsys, "expected an audio file")
    fails(["detokenize", codes, "-o", codes], capsys, "is the input file")
    fails(
        ["prepare", wav.parent, "--codec", model_dir / "codec", "--out", a_file],
        capsys,
        "a folder is needed",
    )
    fails(["merge-caches", tmp_path, "--out", a_file], capsys, "a folder is needed")
    assert a_file.read_text() == "x" and not list(a_dir.iterdir())


def test_batch_file_that_is_a_folder_is_named_so(tmp_path: Path, model_dir: Path, capsys) -> None:
    argv = ["generate", "--batch-file", tmp_path, "--model", model_dir, "--out", tmp_path / "o"]
    fails(argv, capsys, "is a folder; pass a text file")


# ---------------------------------------------------------------- 8, 10: serve


def test_serve_on_a_port_in_use_is_a_message(model_dir: Path, capsys) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        err = fails(["serve", "--model", model_dir, "--port", port], capsys, "already in use")
    assert "--port 0" in err


def test_eval_checks_its_options_first(tmp_path: Path, model_dir: Path, capsys) -> None:
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    split = tmp_path / "test.jsonl"  # never read: the checks come first
    base = ["eval", "--split", split, "--model", model_dir, "--out"]
    fails([*base, a_file], capsys, "is a file, but a folder is needed")
    fails([*base, tmp_path / "r", "--seconds", "inf"], capsys, "--seconds: expected")
    fails([*base, tmp_path / "r", "--batch-size", "0"], capsys, "--batch-size: expected >= 1")


def test_generate_refuses_to_overwrite_its_prompt(wav: Path, model_dir: Path, capsys) -> None:
    before = wav.read_bytes()
    argv = ["generate", "x", "-o", wav, "--prompt-audio", wav, "--model", model_dir]
    fails([*argv, "--seconds", "2"], capsys, "is the input file")
    assert wav.read_bytes() == before


def test_save_codes_refuses_an_audio_suffix(tmp_path: Path) -> None:
    from maskgmt.codecs import save_codes

    with pytest.raises(ValueError, match="a code file is safetensors, not audio"):
        save_codes(tmp_path / "c.WAV", torch.zeros(2, 3, dtype=torch.long), codec_identity={})
    assert not (tmp_path / "c.WAV").exists()
