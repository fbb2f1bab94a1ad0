"""CFG-scale and temperature annealing over a level's decoding steps (MAGNeT): the `DecodePlan`
values at the first and last steps, what `generate` really uses at each step, and that
annealing changes what is sampled."""

from __future__ import annotations

import importlib

import pytest
import torch

from maskgmt.model import MaskGmt

from .conftest import make_plan, text_inputs

gen_module = importlib.import_module("maskgmt.model.generate")


def test_scale_at_runs_from_cond_scale_to_min_cond_scale() -> None:
    plan = make_plan(cond_scale=3.0, min_cond_scale=1.0)
    assert plan.scale_at(0, 5) == 3.0  # first step: the full scale
    assert plan.scale_at(4, 5) == pytest.approx(1.0)  # last step: min_cond_scale
    assert plan.scale_at(2, 5) == pytest.approx(2.0)  # linear in between
    scales = [plan.scale_at(s, 5) for s in range(5)]
    assert all(a > b for a, b in zip(scales, scales[1:], strict=False))
    up = make_plan(cond_scale=1.0, min_cond_scale=4.0)  # "min" may also lie above: still linear
    assert (up.scale_at(0, 4), up.scale_at(3, 4)) == (1.0, pytest.approx(4.0))
    assert plan.scale_at(0, 1) == 3.0  # one step: the scale itself
    flat = make_plan(cond_scale=2.5)
    assert {flat.scale_at(s, 6) for s in range(6)} == {2.5}


def test_temperature_at_falls_linearly_from_the_temperature() -> None:
    plan = make_plan(temperature=2.0)
    assert plan.temperature_at(0, 4) == 2.0  # first step: the temperature itself
    assert plan.temperature_at(3, 4) == pytest.approx(0.5)  # last: temperature / steps, not 0
    assert [plan.temperature_at(s, 4) for s in range(4)] == pytest.approx([2.0, 1.5, 1.0, 0.5])
    assert plan.temperature_at(0, 1) == 2.0
    assert make_plan(temperature=0.0).temperature_at(0, 4) == 0.0


def _record(monkeypatch: pytest.MonkeyPatch, name: str, key) -> list:
    """Wrap `maskgmt.model.generate.<name>` and record key(args, kwargs) of every call."""
    seen: list = []
    original = getattr(gen_module, name)

    def spy(*args, **kwargs):
        seen.append(key(args, kwargs))
        return original(*args, **kwargs)

    monkeypatch.setattr(gen_module, name, spy)
    return seen


def test_generate_uses_the_annealed_scale_and_temperature_at_each_step(
    model: MaskGmt, monkeypatch: pytest.MonkeyPatch
) -> None:
    scales = _record(monkeypatch, "guide", lambda a, kw: a[2] if len(a) > 2 else kw["scale"])
    temps = _record(monkeypatch, "sample", lambda a, kw: kw["temperature"])
    emb, mask = text_inputs(2)
    model.generate(
        text_embeds=emb, text_mask=mask, steps=(4, 2, 1, 1), cond_scale=3.0, min_cond_scale=1.0,
        temperature=2.0, generator=torch.Generator().manual_seed(0),
    )  # fmt: skip
    # the default guides levels 0-3, here all four; each anneals over its own steps (one step:
    # the full scale)
    assert scales == pytest.approx([3.0, 7 / 3, 5 / 3, 1.0, 3.0, 1.0, 3.0, 3.0])
    # each level starts again at the full temperature and falls by temperature / steps a step
    assert temps == pytest.approx([2.0, 1.5, 1.0, 0.5, 2.0, 1.0, 2.0, 2.0])


def test_annealing_changes_the_sampled_codes(model: MaskGmt) -> None:
    emb, mask = text_inputs(2)

    def greedy(**kw) -> torch.Tensor:
        return model.generate(
            text_embeds=emb,
            text_mask=mask,
            steps=(8, 2, 1, 1),
            temperature=0.0,
            choice_temperature=0.0,
            **kw,
        )  # no re-masking noise: greedy decoding is deterministic without a seed

    constant = greedy(cond_scale=3.0)
    annealed = greedy(cond_scale=3.0, min_cond_scale=1.0)
    assert torch.equal(greedy(cond_scale=3.0, min_cond_scale=3.0), constant)  # no-op anneal
    assert not torch.equal(annealed, constant)
    assert not torch.equal(annealed, greedy(cond_scale=1.0))

    def seeded(**kw) -> torch.Tensor:
        return model.generate(
            text_embeds=emb, text_mask=mask, steps=(8, 2, 1, 1), temperature=3.0,
            generator=torch.Generator().manual_seed(0), **kw,
        )  # fmt: skip

    falling = seeded()
    assert torch.equal(seeded(), falling)
    assert not torch.equal(seeded(anneal_temperature=False), falling)
