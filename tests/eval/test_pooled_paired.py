"""bench/pooled_paired.py: arms given as several replicate eval folders, compared clip by clip;
the interval widens when the replicates of an arm disagree (the run draw), not only with the
clips."""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "pooled_paired.py"
REFERENCE = {"instrument_family": "strings", "tempo": 100.0, "key": "C major", "mode": "major",
             "register": "low"}  # fmt: skip


def _folder(root: Path, name: str, hits: list[bool]) -> Path:
    """An eval folder whose generated audio gets the instrument right on the clips in `hits`
    (and every other attribute right everywhere), at 2 notes/s."""
    path = root / name
    path.mkdir()
    rows = []
    for hit in hits:
        generated = {**REFERENCE, "instrument_family": "strings" if hit else "brass"}
        rows.append({"reference": REFERENCE, "generated": {**generated, "notes_per_s": 2.0}})
    (path / "estimates.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    return path


@pytest.fixture(scope="module")
def pooled():
    return runpy.run_path(str(BENCH))["pooled_difference"]


def test_the_means_pool_replicates_and_clips(tmp_path: Path, pooled) -> None:
    n = 40
    a = [_folder(tmp_path, f"a{i}", [c < 10 for c in range(n)]) for i in range(2)]  # 25 %
    b = [_folder(tmp_path, "b0", [c < 20 for c in range(n)]),  # 50 %
         _folder(tmp_path, "b1", [c < 30 for c in range(n)])]  # 75 %  # fmt: skip
    out = pooled(a, b, resamples=400)
    inst = out["instrument_family"]
    assert inst["a"] == 25.0 and inst["b"] == 62.5 and inst["diff"][0] == 37.5
    assert inst["diff"][1] < 37.5 < inst["diff"][2] and inst["replicates"] == [2, 2]
    assert out["key"]["diff"] == [0.0, 0.0, 0.0] and out["notes"]["diff"][0] == 0.0


def test_disagreeing_replicates_widen_the_interval(tmp_path: Path, pooled) -> None:
    """The same mean difference, once from two agreeing replicates and once from two that
    disagree: only the second carries the run draw, so its interval is wider."""
    n = 40
    a = [_folder(tmp_path, "a", [c < 10 for c in range(n)])]
    agree = [_folder(tmp_path, f"s{i}", [c < 25 for c in range(n)]) for i in range(2)]
    split = [_folder(tmp_path, "d0", [c < 15 for c in range(n)]),
             _folder(tmp_path, "d1", [c < 35 for c in range(n)])]  # fmt: skip
    narrow = pooled(a, agree, resamples=400)["instrument_family"]["diff"]
    wide = pooled(a, split, resamples=400)["instrument_family"]["diff"]
    assert narrow[0] == wide[0] == 37.5
    assert wide[2] - wide[1] > 1.5 * (narrow[2] - narrow[1])


def test_the_cli_writes_each_arm_against_the_base(tmp_path: Path, monkeypatch) -> None:
    a = _folder(tmp_path, "a", [True, False, False, False])
    b = _folder(tmp_path, "b", [True, True, False, False])
    other = _folder(tmp_path, "other", [True, True, True])  # another set of clips
    out = tmp_path / "out.json"
    argv = ["pooled_paired.py", "--a", f"base={a}", "--b", f"two={b}", "--out", str(out)]
    monkeypatch.setattr(sys, "argv", argv)
    runpy.run_path(str(BENCH), run_name="__main__")
    assert json.loads(out.read_text())["two_minus_base"]["instrument_family"]["diff"][0] == 25.0
    with pytest.raises(ValueError, match="different clips"):
        runpy.run_path(str(BENCH))["pooled_difference"]([a], [other], resamples=10)
