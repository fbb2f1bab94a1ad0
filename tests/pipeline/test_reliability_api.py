"""`TextToMusic.generate` and the model refuse bad arguments instead of coercing them."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from maskgmt.cli import checks as cli_checks
from maskgmt.pipeline import MAX_SECONDS, TextToMusic
from maskgmt.seeding import SEED_RANGE

from .conftest import WINDOW


@pytest.fixture(scope="module")
def pipe(model_dir: Path) -> TextToMusic:
    return TextToMusic.from_pretrained(model_dir)


def good_prompt(dtype=torch.long) -> torch.Tensor:
    return torch.randint(0, 16, (1, 2, 5)).to(dtype)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"prompt_codes": good_prompt(torch.float32)}, "prompt_codes: expected integer"),
        ({"prompt_codes": good_prompt(torch.float16)}, "prompt_codes: expected integer"),
        ({"prompt_codes": good_prompt(torch.bool)}, "prompt_codes: expected integer"),
        ({"prompt_codes": [[[1, 2]]]}, "prompt_codes: expected a LongTensor"),
        ({"prompt_codes": good_prompt().to("meta")}, "prompt_codes: got a tensor on the meta"),
        ({"seed": 1.7}, "seed: expected an int"),
        ({"seed": True}, "seed: expected an int"),
        ({"seed": 2**64}, r"seed: expected an int in \[-2\*\*63"),
        ({"seconds": True}, "seconds: expected a number of seconds"),
        ({"seconds": "2"}, "seconds: expected a number of seconds"),
        ({"seconds": float("inf")}, "seconds: expected a number of seconds"),
        ({"seconds": float("nan")}, "seconds: expected a number of seconds"),
        ({"seconds": 1e9}, "at most one hour"),
        ({"seconds": 0}, "seconds: expected > 0, got 0"),
        ({"texts": 123}, "texts: expected a list of captions"),
        ({"texts": ["ok", 5]}, "texts: expected every caption to be a str"),
        ({"texts": []}, "texts: expected at least one caption"),
    ],
)
def test_bad_generate_arguments_are_refused(pipe: TextToMusic, kwargs: dict, match: str) -> None:
    kwargs = {"texts": ["a calm piano piece"], "seconds": 0.2, "steps": 1, **kwargs}
    texts = kwargs.pop("texts")
    with pytest.raises(ValueError, match=match):
        pipe.generate(texts, **kwargs)


def test_good_arguments_still_work_and_repeat(pipe: TextToMusic) -> None:
    prompt = good_prompt(torch.int16)  # any integer dtype is fine: nothing is truncated
    a = pipe.generate(["x"], seconds=0.3, seed=5, steps=1, prompt_codes=prompt)
    b = pipe.generate(("x",), seconds=0.3, seed=5, steps=1, prompt_codes=prompt.long())
    assert torch.equal(a, b)
    assert pipe.generate_codes(["x"], seed=SEED_RANGE[1], steps=1).shape[-1] == WINDOW


def test_the_cli_bound_is_the_library_bound() -> None:
    assert cli_checks.MAX_SECONDS == MAX_SECONDS
    # One seed check behind both: the CLI refuses just past the range the library accepts.
    cli_checks.check_seed(SEED_RANGE[1])
    with pytest.raises(ValueError, match="--seed: expected an int in"):
        cli_checks.check_seed(SEED_RANGE[1] + 1)


def test_logits_refuses_a_bool_level_and_meta_inputs(pipe: TextToMusic) -> None:
    model = pipe.model
    codes = torch.randint(0, 16, (1, 2, 8))
    emb, mask = torch.randn(1, 3, 384), torch.ones(1, 3, dtype=torch.bool)
    assert model.logits(codes, 1, text_embeds=emb, text_mask=mask).shape == (1, 8, 16)
    with pytest.raises(ValueError, match="level: expected an int"):
        model.logits(codes, True, text_embeds=emb, text_mask=mask)
    with pytest.raises(ValueError, match="music_ids: got a tensor on the meta device"):
        model.logits(codes.to("meta"), 0, text_embeds=emb, text_mask=mask)
    with pytest.raises(ValueError, match="text_embeds: got a tensor on the meta device"):
        model.logits(codes, 0, text_embeds=emb.to("meta"), text_mask=mask)
    with pytest.raises(ValueError, match="text_mask: got a tensor on the meta device"):
        model.logits(codes, 0, text_embeds=emb, text_mask=mask.to("meta"))
    with pytest.raises(ValueError, match="wav is on the meta device"):
        pipe.encode_prompt(torch.zeros(1, 2400, device="meta"), 24_000)
    with pytest.raises(ValueError, match="codes are on the meta device"):
        pipe.decode(codes.to("meta"))
