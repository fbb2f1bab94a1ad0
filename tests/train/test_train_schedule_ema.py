"""LR schedule, AdamW parameter groups and EMA."""

from __future__ import annotations

import math

import pytest
import torch

from maskgmt.train.config import OptimConfig
from maskgmt.train.ema import Ema
from maskgmt.train.schedule import build_optimizer, lr_factor, param_groups


def test_warmup_then_cosine() -> None:
    kw = {"warmup_steps": 10, "max_steps": 110, "min_lr_ratio": 0.1}
    warm = [lr_factor(s, **kw) for s in range(10)]
    assert warm == sorted(warm) and warm[0] == pytest.approx(0.1)
    assert lr_factor(10, **kw) == pytest.approx(1.0)
    assert lr_factor(60, **kw) == pytest.approx(0.1 + 0.9 * 0.5)  # half way down the cosine
    assert lr_factor(110, **kw) == pytest.approx(0.1) == lr_factor(500, **kw)
    decay = [lr_factor(s, **kw) for s in range(10, 111)]
    assert all(a >= b for a, b in zip(decay, decay[1:], strict=False))


def test_scheduler_drives_optimizer_lr() -> None:
    model = torch.nn.Linear(3, 3)
    cfg = OptimConfig(lr=1.0, warmup_steps=4, max_steps=8, min_lr_ratio=0.0)
    opt, sched = build_optimizer(model, cfg)
    seen = []
    for _ in range(8):
        seen.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert seen[:4] == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert seen[6] == pytest.approx(0.5 * (1 + math.cos(math.pi * 2 / 4)))


def test_no_weight_decay_on_norms_embeddings_biases() -> None:
    model = torch.nn.Sequential(
        torch.nn.Embedding(10, 4), torch.nn.LayerNorm(4), torch.nn.Linear(4, 4)
    )
    decay, no_decay = param_groups(model, weight_decay=0.1)
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert [p.shape for p in decay["params"]] == [torch.Size([4, 4])]
    assert len(no_decay["params"]) == 4  # embedding, norm weight+bias, linear bias


def test_ema_tracks_and_copies() -> None:
    torch.manual_seed(0)
    model = torch.nn.Linear(2, 2)
    ema = Ema(model, decay=0.5)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        model.weight.add_(1.0)
    ema.update(model)  # first update: d = min(0.5, 1/10) = 0.1
    expected = 0.1 * start["weight"] + 0.9 * model.weight
    assert torch.allclose(ema.shadow["weight"], expected)
    other = torch.nn.Linear(2, 2)
    ema.copy_to(other)
    assert torch.equal(other.weight, ema.shadow["weight"])
    with pytest.raises(ValueError, match="decay"):
        Ema(model, decay=1.0)
    with pytest.raises(ValueError, match="missing"):
        ema.load_state_dict({}, num_updates=0)
