"""CLI round trip on real WAV files: codec fit -> tokenize -> detokenize, and its refusals."""

from __future__ import annotations

import json

import pytest
import torch

from maskgmt.audio import read_audio, write_audio
from maskgmt.cli import main
from maskgmt.codecs import load_codes


@pytest.fixture(scope="module")
def audio_folder(tmp_path_factory, train_clips):
    """Two WAV files (one stereo at 44.1 kHz) and a manifest naming them relatively."""
    from maskgmt.audio import resample

    folder = tmp_path_factory.mktemp("audio")
    write_audio(folder / "a.wav", train_clips[0][:, : 24_000 * 4], 24_000)
    stereo = resample(train_clips[1][:, : 24_000 * 4], 24_000, 44_100).repeat(2, 1)
    write_audio(folder / "b" / "b.wav", stereo, 44_100)
    lines = [{"audio": "a.wav", "text": "piano"}, {"audio": "b/b.wav", "text": "violin"}]
    (folder / "train.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    return folder


def fit(source, out, seed=0):
    args = ["codec", "fit", str(source), "--out", str(out), "--n-q", "3"]
    args += ["--codebook-size", "16", "--kmeans-iters", "2", "--seed", str(seed), "--no-progress"]
    return main(args)


def test_fit_tokenize_detokenize_round_trip(audio_folder, tmp_path):
    assert fit(audio_folder / "train.jsonl", tmp_path / "codec") == 0
    codes_path, out_wav = tmp_path / "b.codes.safetensors", tmp_path / "b.out.wav"
    args = ["tokenize", str(audio_folder / "b" / "b.wav"), "-o", str(codes_path)]
    assert main([*args, "--codec", str(tmp_path / "codec")]) == 0
    codes, identity, meta = load_codes(codes_path)
    assert codes.shape == (3, 300) and identity["kind"] == "spectral"  # 4 s at 75 Hz
    assert identity["source"] == str((tmp_path / "codec").resolve())

    assert main(["detokenize", str(codes_path), "-o", str(out_wav)]) == 0  # codec from metadata
    wav, sr = read_audio(out_wav)
    assert sr == 24_000 and wav.shape == (1, meta["num_samples"]) == (1, 96_000)
    assert float(wav.abs().max()) > 0.01


def test_detokenize_refuses_another_codec(audio_folder, tmp_path, capsys):
    assert fit(audio_folder, tmp_path / "c0", seed=0) == 0  # a folder works as the source too
    assert fit(audio_folder, tmp_path / "c1", seed=1) == 0
    codes_path = tmp_path / "a.safetensors"
    assert (
        main(
            [
                "tokenize",
                str(audio_folder / "a.wav"),
                "-o",
                str(codes_path),
                "--codec",
                str(tmp_path / "c0"),
            ]
        )
        == 0
    )
    capsys.readouterr()
    code = main(
        [
            "detokenize",
            str(codes_path),
            "-o",
            str(tmp_path / "x.wav"),
            "--codec",
            str(tmp_path / "c1"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "were made by codec" in err and "fingerprint" in err
    assert not (tmp_path / "x.wav").exists()


def test_cli_bad_input_exits_2_with_one_line(tmp_path, capsys):
    silent = write_audio(tmp_path / "silent.wav", torch.zeros(1, 2400), 24_000)
    cases = [
        ["tokenize", str(tmp_path / "missing.wav"), "-o", str(tmp_path / "c"), "--codec", "x"],
        ["tokenize", str(silent), "-o", str(tmp_path / "c"), "--codec", "x"],
        ["detokenize", str(silent), "-o", str(tmp_path / "o.wav")],
        ["codec", "fit", str(tmp_path / "nothing"), "--out", str(tmp_path / "c")],
        ["codec", "info", "no-such-codec"],
    ]
    expected = ["does not exist", "is silent", "not a code file", "does not exist", "unknown codec"]
    for args, message in zip(cases, expected, strict=True):
        capsys.readouterr()
        assert main(args) == 2, args
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_help_is_fast_to_reach():
    assert main(["--help"]) == 0
    assert main(["codec", "--help"]) == 0


def test_fit_weighs_bins_equally_unless_told(audio_folder, tmp_path):
    """`codec fit` leaves the bins equally weighted (more timbre kept); `--mel-weighting` picks
    the mel density, and the saved config says which, so the codes keep their meaning."""
    assert fit(audio_folder, tmp_path / "flat") == 0
    args = ["codec", "fit", str(audio_folder), "--out", str(tmp_path / "mel"), "--n-q", "3"]
    args += ["--codebook-size", "16", "--kmeans-iters", "2", "--mel-weighting", "--no-progress"]
    assert main(args) == 0
    weighting = {
        name: json.loads((tmp_path / name / "spectral_codec.json").read_text())["config"][
            "mel_weighting"
        ]
        for name in ("flat", "mel")
    }
    assert weighting == {"flat": False, "mel": True}
