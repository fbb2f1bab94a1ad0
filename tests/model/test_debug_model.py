"""`maskgmt.model.debug_model`: the library's tiny seeded model."""

from __future__ import annotations

import inspect

import torch

from maskgmt.model import MaskGmtTransformer, TokenCritic, debug_model

from .conftest import FakeTextEncoder


def test_generate_shape_loss_and_overrides():
    model = debug_model(
        critic=True, n_q=2, seq_len=8, cond_drop_prob=0.0, text_encoder=FakeTextEncoder()
    )
    assert model.transformer.config.n_q == 2 and model.transformer.config.seq_len == 8
    assert model.token_critic is not None and model.token_critic.config.n_q == 2
    assert model.config.cond_drop_prob == 0.0
    codes = torch.randint(0, 32, (2, 2, 8))
    loss = model(codes, texts=["a b", "c"])
    loss = loss if isinstance(loss, torch.Tensor) else loss[0]
    assert torch.isfinite(loss).all()
    out = model.eval().generate(texts=["a b"], num_frames=6, steps=2)
    out = out if isinstance(out, torch.Tensor) else out[0]
    assert out.shape == (1, 2, 6) and int(out.min()) >= 0 and int(out.max()) < 32


def test_seeded_and_keyword_defaults_come_from_backbone_config():
    a, b = debug_model(seed=3), debug_model(seed=3)
    for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True):
        assert torch.equal(x, y)
    sig = inspect.signature(MaskGmtTransformer).parameters
    assert sig["dim_head"].default == 64 and sig["n_q"].default is inspect.Parameter.empty
    assert inspect.signature(TokenCritic).parameters["n_q"].default == 8
