"""A steps list shorter than the model's levels repeats its last value (`--steps 16,8,4,4` on an
8-level model is documented and must work)."""

from __future__ import annotations

import pytest
import torch

from maskgmt.cli.generate import parse_steps
from maskgmt.model import MaskGmt
from maskgmt.model.checks import check_steps

from .conftest import K, tiny_transformer


def test_short_list_repeats_its_last_value() -> None:
    assert check_steps((16, 8, 4, 4), 8) == (16, 8, 4, 4, 4, 4, 4, 4)
    assert check_steps(parse_steps("16,8,4,4"), 8) == (16, 8, 4, 4, 4, 4, 4, 4)
    assert check_steps([3], 2) == (3, 3)
    assert check_steps(5, 3) == (5, 5, 5)
    with pytest.raises(ValueError, match=r"at most one count per codec level \(2\), got 3"):
        check_steps((1, 2, 3), 2)


def test_generate_with_a_short_list_equals_the_full_list(encoder) -> None:
    torch.manual_seed(0)
    model = MaskGmt(transformer=tiny_transformer(), text_encoder=encoder).eval()
    texts = ["a slow cello"]

    def run(steps):
        gen = torch.Generator().manual_seed(7)
        return model.generate(texts=texts, steps=steps, num_frames=8, generator=gen)

    assert K == 4
    assert torch.equal(run((3, 2)), run((3, 2, 2, 2)))


def test_the_web_box_takes_short_lists_as_the_command_line_does() -> None:
    from maskgmt.app.jobs import InputError, Limits
    from maskgmt.app.jobs import parse_steps as box

    assert box("4, 2", 8, Limits()) == parse_steps("4,2") == (4, 2)
    assert check_steps(box("4,2", 8, Limits()), 8) == (4, 2, 2, 2, 2, 2, 2, 2)
    assert box("", 8, Limits()) is None and box(6, 8, Limits()) == 6
    with pytest.raises(InputError, match="up to 2 comma-separated"):
        box("4,2,2", 2, Limits())
