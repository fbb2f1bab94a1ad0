"""bench/mode_guidance.py patches the decoding loop for three-way guidance (null text and a
negative caption). At NEG_SCALE 0 it must decode exactly what the library decodes without a
negative, and a non-zero scale must change the codes."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest
import torch

import maskgmt.model.generate as generate_module
from maskgmt.model.debug import debug_model

BENCH = Path(__file__).resolve().parents[2] / "bench" / "mode_guidance.py"


def test_three_way_guidance_at_scale_zero_is_plain_cfg(monkeypatch: pytest.MonkeyPatch) -> None:
    bench = runpy.run_path(str(BENCH))
    model = debug_model().eval()
    dim = model.transformer.config.text_dim
    emb, neg = torch.randn(2, 4, dim), torch.randn(2, 3, dim)
    mask, neg_mask = torch.ones(2, 4, dtype=torch.bool), torch.ones(2, 3, dtype=torch.bool)

    def run(**negative) -> torch.Tensor:
        g = torch.Generator().manual_seed(0)
        return model.generate(text_embeds=emb, text_mask=mask, generator=g, **negative)

    plain = run()
    monkeypatch.setattr(generate_module, "text_contexts", bench["_three_way_contexts"])
    monkeypatch.setattr(generate_module, "_step_logits", bench["_three_way_step_logits"])
    negative = {"negative_text_embeds": neg, "negative_text_mask": neg_mask}
    bench["_three_way_step_logits"].__globals__["NEG_SCALE"] = 0.0
    assert torch.equal(run(**negative), plain)
    bench["_three_way_step_logits"].__globals__["NEG_SCALE"] = 5.0
    assert not torch.equal(run(**negative), plain)
