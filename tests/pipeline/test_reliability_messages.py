"""Messages that name the file at fault and what it is (a folder is not "missing")."""

from __future__ import annotations

from pathlib import Path

import pytest

from maskgmt.cli import main
from maskgmt.data.cache import read_info, read_skipped
from maskgmt.model.persistence import resolve_model_dir
from maskgmt.pipeline import TextToMusic
from maskgmt.train.checkpoint import read_checkpoint_state


def one_line(argv: list, capsys, match: str) -> None:
    rc = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert rc == 2 and match in err and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1, err


def test_a_folder_is_called_a_folder(tmp_path: Path, model_dir: Path, capsys) -> None:
    one_line(["detokenize", tmp_path, "-o", tmp_path / "x.wav"], capsys, "is a folder")
    a_file = tmp_path / "model.txt"
    a_file.write_text("x")
    with pytest.raises(ValueError, match="is a file, not a model folder"):
        TextToMusic.from_pretrained(a_file)
    with pytest.raises(ValueError, match="is a file, not a model folder"):
        resolve_model_dir(a_file)
    one_line(
        ["train", "--data", tmp_path, "--out", tmp_path / "run", "--config", tmp_path],
        capsys,
        "--config",
    )


@pytest.mark.parametrize("name", ["cache_info.json", "skipped.jsonl", "state.json"])
def test_damaged_json_names_its_file(tmp_path: Path, name: str) -> None:
    file = tmp_path / name
    file.write_text('{"format": 1, "n_q": ')
    read = {
        "cache_info.json": read_info,
        "skipped.jsonl": read_skipped,
        "state.json": read_checkpoint_state,
    }[name]
    with pytest.raises(ValueError, match=rf"{name}.* is not valid JSON"):
        read(tmp_path)


def test_damaged_prepare_state_names_its_file(tmp_path: Path, model_dir: Path, capsys) -> None:
    out = tmp_path / "cache"
    out.mkdir()
    (out / "prepare_state.json").write_text('{"request": ')
    clips = tmp_path / "clips"
    clips.mkdir()
    (clips / "a.txt").write_text("a caption")
    import numpy as np
    import soundfile as sf

    sf.write(clips / "a.wav", np.zeros(24_000, dtype=np.float32) + 0.1, 24_000)
    argv = ["prepare", clips, "--codec", model_dir / "codec", "--out", out, "--no-progress"]
    one_line(argv, capsys, "prepare_state.json")
