"""TextToMusic.inpaint_codes / inpaint: a time range made anew, the rest kept (prompt masks)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from maskgmt.pipeline import SPLICE_SECONDS, TextToMusic
from maskgmt.pipeline.inpaint import inpaint_window

from .conftest import SR, WINDOW

FAST = {"steps": 2}


@pytest.fixture(scope="module")
def pipe(model_dir: Path) -> TextToMusic:
    return TextToMusic.from_pretrained(model_dir)


def frames(pipe: TextToMusic, seconds: float) -> int:
    return round(seconds * pipe.frame_rate)


def test_window_always_holds_the_next_frame_and_fits_the_clip() -> None:
    for total in (10, WINDOW, 3 * WINDOW + 5):
        for pos in range(total):
            for end in range(pos + 1, total + 1, 7):
                lo, hi = inpaint_window(pos, end, total, WINDOW)
                assert 0 <= lo <= pos < hi <= total and hi - lo == min(total, WINDOW)


def test_kept_frames_stay_and_the_range_is_made_anew(pipe: TextToMusic) -> None:
    codes = pipe.generate_codes(["a calm piano melody"], seconds=0.4, seed=1, **FAST)
    out = pipe.inpaint_codes(["loud drums"], codes, start=0.08, end=0.24, seed=2, **FAST)
    f0, f1 = frames(pipe, 0.08), frames(pipe, 0.24)  # whole frames
    assert out.shape == codes.shape and out.dtype == torch.long
    assert torch.equal(out[..., :f0], codes[..., :f0])
    assert torch.equal(out[..., f1:], codes[..., f1:])
    assert not torch.equal(out[..., f0:f1], codes[..., f0:f1])


def test_a_range_longer_than_a_window_is_filled_window_by_window(pipe: TextToMusic) -> None:
    seconds = 3 * WINDOW / pipe.frame_rate
    codes = pipe.generate_codes(["strings"], seconds=seconds, seed=0, **FAST)
    start, end = 0.2, seconds - 0.2
    out = pipe.inpaint_codes(["strings"], codes, start=start, end=end, seed=3, **FAST)
    f0, f1 = frames(pipe, start), frames(pipe, end)
    assert pipe.last_timings.windows >= 3
    assert torch.equal(out[..., :f0], codes[..., :f0])
    assert torch.equal(out[..., f1:], codes[..., f1:])
    # every part of the range was made anew, not only the first window
    changed = (out[..., f0:f1] != codes[..., f0:f1]).any(dim=1)[0]
    assert changed[-WINDOW:].any() and changed[:WINDOW].any()


def test_the_same_seed_gives_the_same_codes(pipe: TextToMusic) -> None:
    codes = pipe.generate_codes(["bass"], seconds=0.4, seed=0, **FAST)
    a = pipe.inpaint_codes(["bass"], codes, start=0.1, end=0.2, seed=5, **FAST)
    b = pipe.inpaint_codes(["bass"], codes, start=0.1, end=0.2, seed=5, **FAST)
    assert torch.equal(a, b)


def test_inpaint_keeps_the_audio_outside_the_range(pipe: TextToMusic) -> None:
    t = torch.arange(SR) / SR
    clip = (0.3 * torch.sin(2 * torch.pi * 330.0 * t))[None]  # [C=1, S], 1 s
    out = pipe.inpaint(["a flute"], clip, SR, start=0.4, end=0.6, seed=0, **FAST)
    assert out.shape == (1, 1, SR)
    edge = SPLICE_SECONDS / 2
    before, after = round((0.4 - edge) * SR), round((0.6 + edge) * SR) + 1
    assert torch.equal(out[0, :, :before], clip[:, :before])
    assert torch.equal(out[0, :, after:], clip[:, after:])
    assert not torch.allclose(out[0, :, before:after], clip[:, before:after])


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (0.3, 0.3, "end"),
        (0.3, 0.1, "end"),
        (-0.1, 0.2, "start"),
        (5.0, 6.0, "start"),
        (True, 0.2, "start"),
        (0.1, float("nan"), "end"),
    ],
)
def test_bad_ranges_name_the_field(pipe: TextToMusic, start, end, field: str) -> None:
    codes = pipe.generate_codes(["x"], seconds=0.4, seed=0, **FAST)
    with pytest.raises(ValueError, match=f"^{field}:"):
        pipe.inpaint_codes(["x"], codes, start=start, end=end)


def test_codes_of_the_wrong_shape_are_refused(pipe: TextToMusic) -> None:
    with pytest.raises(ValueError, match="^codes: expected"):
        pipe.inpaint_codes(["x"], torch.zeros(1, 5, 10, dtype=torch.long), start=0, end=0.1)
