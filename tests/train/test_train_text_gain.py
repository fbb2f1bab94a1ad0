"""Text information gain in training: TensorBoard, train_result.json, no RNG side effects."""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from test_train_loop import tiny

from maskgmt.model import MaskGmt
from maskgmt.train.checkpoint import latest_checkpoint
from maskgmt.train.loop import train

# 4 of the 12 clips held out, so each validation batch has captions to shuffle between.
HELD_OUT = {"val_fraction": 0.34}
BENCH = Path(__file__).resolve().parents[2] / "bench" / "text_gain.py"


def _saved(run: Path) -> dict:
    return json.loads((run / "train_result.json").read_text())


def test_train_result_json_holds_the_text_gain_history(cache_dir: Path, tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    cfg = tiny(data=HELD_OUT, optim={"max_steps": 20}, log={"val_every": 10})
    run = tmp_path / "run"
    result = train(cfg, data_dir=cache_dir, out_dir=run)

    saved = _saved(run)
    assert saved["finished"] and saved["steps"] == 20
    assert saved["model_dir"] == str(result.model_dir)
    history = saved["text_gain"]
    assert [h["step"] for h in history] == [10, 20]
    for h in history:
        assert h["share"] == 0.5 and h["clips"] == 4 and h["differing"] == 4
        assert h["reason"] is None and h["seconds"] > 0
        for condition in ("full", "partial"):
            assert len(h[condition]) == 2 and all(isinstance(g, float) for g in h[condition])
            true, shuffled = h[f"{condition}_loss"]["true"], h[f"{condition}_loss"]["shuffled"]
            diffs = [s - t for s, t in zip(shuffled, true, strict=True)]
            assert diffs == pytest.approx(h[condition], abs=1e-9)
    assert history == result.text_gain_history
    assert result.text_gain["full"]["gain"] == history[-1]["full"]
    summary = MaskGmt.from_pretrained(result.model_dir).metadata["train"]["text_gain_per_level"]
    assert summary == {"share": 0.5, "full": history[-1]["full"], "partial": history[-1]["partial"]}

    tags = EventAccumulator(str(run / "tensorboard")).Reload().Tags()["scalars"]
    for tag in ("text_gain/full/level0", "text_gain/partial/level1", "text_gain/seconds"):
        assert tag in tags, tag


def test_bench_script_measures_a_trained_model_folder(
    cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tiny(data=HELD_OUT, optim={"max_steps": 4}, log={"val_every": 0})
    result = train(cfg, data_dir=cache_dir, out_dir=tmp_path / "run")
    out = tmp_path / "gain.json"
    argv = ["text_gain.py", "--model", str(result.model_dir), "--cache", str(cache_dir),
            "--out", str(out)]  # fmt: skip
    monkeypatch.setattr(sys, "argv", argv)
    runpy.run_path(str(BENCH), run_name="__main__")
    report = json.loads(out.read_text())
    assert report["split"] == "valid" and report["clips"] == 4 and report["text"] == "cache"
    # the same 4 held-out clips as the run's closing validation; the final model is the same
    # weights (no EMA), in batches of 16 and other seeds, so close to but not the loop's masks
    assert report["full"]["loss_true"] == pytest.approx(result.text_gain["full"]["loss_true"])
    assert len(report["partial"]["gain"]) == 2


def test_one_held_out_clip_gives_no_gain_but_no_crash(cache_dir: Path, tmp_path: Path) -> None:
    cfg = tiny(optim={"max_steps": 2}, log={"val_every": 0})  # 5% of 12 clips: 1 held out
    result = train(cfg, data_dir=cache_dir, out_dir=tmp_path / "run")
    assert result.text_gain["clips"] == 0 and "2 or more clips" in result.text_gain["reason"]
    assert _saved(tmp_path / "run")["text_gain"][0]["full"] == [None, None]


def test_measuring_the_gain_leaves_training_and_resume_bit_exact(
    cache_dir: Path, tmp_path: Path
) -> None:
    """Validating (with the gain) every 2 steps trains the same weights as never validating,
    and a run resumed at step 3 matches both, with the whole run's history in its file."""
    base = {"data": {**HELD_OUT, "batch_size": 2}, "optim": {"max_steps": 6}}
    quiet = train(tiny(**base, log={"val_every": 0}), data_dir=cache_dir, out_dir=tmp_path / "q")
    cfg = tiny(**base, log={"val_every": 2, "ckpt_every": 100})
    straight = train(cfg, data_dir=cache_dir, out_dir=tmp_path / "a")
    train(cfg, data_dir=cache_dir, out_dir=tmp_path / "b", max_steps=3)
    resumed = train(cfg, data_dir=cache_dir, out_dir=tmp_path / "b", resume=True)

    for other in (quiet, resumed):
        for pa, pb in zip(straight.model.parameters(), other.model.parameters(), strict=True):
            assert torch.equal(pa, pb)
    a, b = latest_checkpoint(tmp_path / "a"), latest_checkpoint(tmp_path / "b")
    ta, tb = load_file(a / "optimizer.safetensors"), load_file(b / "optimizer.safetensors")
    assert all(torch.equal(ta[key], tb[key]) for key in ta)

    whole, joined = (
        [{k: v for k, v in h.items() if k != "seconds"} for h in _saved(tmp_path / r)["text_gain"]]
        for r in ("a", "b")
    )
    # steps 2 and 3 (its closing validation) from the first call, 4 and 6 after the resume
    assert [h["step"] for h in joined] == [2, 3, 4, 6]
    assert [h for h in joined if h["step"] != 3] == whole  # same models, same masks: same gains
    assert [h["step"] for h in resumed.text_gain_history] == [4, 6]
