"""Long outputs in windows: a prompt longer than one window, and a non-default overlap."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from maskgmt.pipeline import TextToMusic

from .conftest import WINDOW


@pytest.fixture(scope="module")
def pipe(model_dir: Path) -> TextToMusic:
    return TextToMusic.from_pretrained(model_dir)


@pytest.fixture
def calls(pipe: TextToMusic, monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """Each model window: its given prompt, prompt mask and output codes."""
    seen: list[dict] = []
    original = pipe.model.generate

    def spy(**kwargs):
        out = original(**kwargs)
        seen.append({
            "prompt": kwargs.get("prompt"), "mask": kwargs.get("prompt_mask"), "out": out,
            "offset": kwargs.get("frame_offset"),
        })  # fmt: skip
        return out

    monkeypatch.setattr(pipe.model, "generate", spy)
    return seen


def test_a_prompt_longer_than_one_window(pipe: TextToMusic, calls: list[dict]) -> None:
    prompt = torch.randint(0, 16, (1, 2, 50), generator=torch.Generator().manual_seed(0))
    codes = pipe.generate_codes(["a folk tune"], seconds=1.0, seed=0, prompt_codes=prompt, steps=1)
    assert codes.shape == (1, 2, 75)
    assert torch.equal(codes[..., :50], prompt)  # the whole prompt, not only the last window
    first = calls[0]
    # the first window continues the END of the prompt: its last WINDOW - 1 frames, all given
    assert first["out"].shape[-1] == WINDOW
    assert bool(first["mask"][..., : WINDOW - 1].all()) and not first["mask"][..., -1].any()
    assert torch.equal(first["out"][..., : WINDOW - 1], prompt[..., -(WINDOW - 1) :])
    assert torch.equal(codes[..., 50:51], first["out"][..., -1:])
    # then windows of WINDOW // 2 given frames: 50 + 1 + 19 + 5 = 75 frames in 3 windows
    assert pipe.last_timings.windows == len(calls) == 3
    assert [int(c["mask"][0, 0].sum()) for c in calls[1:]] == [WINDOW // 2] * 2
    # each window tells the tempo clock where it starts in the piece (its phase)
    assert [c["offset"] for c in calls] == [50 - (WINDOW - 1), 51 - WINDOW // 2, 70 - WINDOW // 2]


def test_overlap_seconds_sets_the_frames_each_window_is_given(
    pipe: TextToMusic, calls: list[dict]
) -> None:
    codes = pipe.generate_codes(["soft strings"], seconds=1.2, seed=0, steps=1, overlap_seconds=0.2)
    overlap = 15  # 0.2 s at 75 frames/s, not the default WINDOW // 2 = 19
    assert codes.shape == (1, 2, 90)
    assert calls[0]["mask"] is None  # nothing to continue in the first window
    for before, after in zip(calls, calls[1:], strict=False):
        mask = after["mask"][0, 0]
        assert int(mask.sum()) == overlap and bool(mask[:overlap].all())
        assert torch.equal(after["out"][..., :overlap], before["out"][..., -overlap:])
    # 38 + 23 + 23 + 6 = 90 new frames
    assert [c["out"].shape[-1] for c in calls] == [WINDOW, WINDOW, WINDOW, overlap + 6]
    assert pipe.last_timings.windows == 4


def test_should_stop_ends_a_long_output_between_windows(
    pipe: TextToMusic, calls: list[dict]
) -> None:
    from maskgmt.pipeline import GenerationCancelled

    asked: list[int] = []

    def stop_after_two() -> bool:  # True once two windows are made
        asked.append(len(calls))
        return len(calls) >= 2

    seconds = 4 * WINDOW / pipe.frame_rate  # about 7 windows with the default overlap
    with pytest.raises(GenerationCancelled, match="stopped after 2 window"):
        pipe.generate(["a folk tune"], seconds=seconds, seed=0, steps=1, should_stop=stop_after_two)
    assert len(calls) == 2 and asked == [0, 1, 2]
    calls.clear()
    codes = pipe.generate_codes(["a folk tune"], seconds=seconds, seed=0, steps=1,
                                should_stop=lambda: False)  # fmt: skip
    assert codes.shape[-1] == round(seconds * pipe.frame_rate) and len(calls) > 2
