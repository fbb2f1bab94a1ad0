"""Generation's fast paths compute what full passes compute: pruned queries, bf16 autocast."""

from __future__ import annotations

import pytest
import torch

import maskgmt.model.generate as generate_module
from maskgmt.model import MaskGmt
from maskgmt.model.layers import take_frames
from maskgmt.model.remasking import masked_first

from .conftest import K, T, random_codes, text_inputs

CAPTIONS = ["slow piano", "fast drums and bass", "a flute"]


def test_masked_first_lists_each_rows_masked_frames_first() -> None:
    masked = torch.tensor([[0, 1, 0, 1, 1, 0], [1, 0, 0, 0, 0, 0]], dtype=torch.bool)
    frames = masked_first(masked, 3)
    assert frames[0].tolist() == [1, 3, 4]
    assert frames[1, 0] == 0 and masked.gather(1, frames)[1].tolist() == [True, False, False]
    assert masked_first(masked, 6).tolist() == [list(range(6))] * 2  # all frames: in order


def test_last_block_on_queried_frames_equals_full_pass(model: MaskGmt) -> None:
    """Keys/values from all frames, queries and feed-forward only where asked: same hidden."""
    backbone = model.transformer.backbone
    emb, mask = text_inputs(3)
    text = backbone.text_context(emb, mask)
    x = torch.randn(3, T, backbone.config.dim, generator=torch.Generator().manual_seed(0))
    frame_mask = torch.ones(3, T, dtype=torch.bool)
    frame_mask[1, 11:] = False  # a short clip: padded frames stay out of the keys either way
    frames = torch.stack(
        [torch.randperm(T, generator=torch.Generator().manual_seed(i))[:5] for i in range(3)]
    )
    with torch.inference_mode():
        full = backbone(x, text, frame_mask)
        pruned = backbone(x, text, frame_mask, queries=frames)
    assert pruned.shape == (3, 5, backbone.config.dim)
    torch.testing.assert_close(pruned, take_frames(full, frames), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("use_critic", [False, True])
def test_pruned_generation_equals_full_passes(
    critic_model: MaskGmt, use_critic: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seeded sampling with prompts that leave rows with different masked counts: same codes."""
    prompt = random_codes(3, seed=3)
    given = torch.rand(3, K, T, generator=torch.Generator().manual_seed(4)) < 0.3
    given[0] = False

    def run() -> torch.Tensor:
        return critic_model.generate(
            CAPTIONS, steps=(5, 3, 2, 1), top_k=12, prompt=prompt, prompt_mask=given,
            use_token_critic=use_critic, generator=torch.Generator().manual_seed(7),
        )  # fmt: skip

    fast = run()
    monkeypatch.setattr(generate_module, "PRUNE_QUERIES", False)
    assert torch.equal(fast, run())


def test_passes_after_the_first_ask_only_masked_frames(model: MaskGmt) -> None:
    asked: list[int | None] = []

    def record(module, args, kwargs, out) -> None:
        queries = kwargs.get("queries")
        asked.append(None if queries is None else queries.shape[1])

    hook = model.transformer.backbone.register_forward_hook(record, with_kwargs=True)
    try:
        model.generate(CAPTIONS[:1], steps=(4, 2, 1, 1), cond_scale=1.0)
    finally:
        hook.remove()
    # Step 0 of a level asks every frame (no pruning); later steps only the still-masked ones,
    # whose count follows the cosine schedule: floor(16 * cos(pi/2 * s / 4)) for s = 1, 2, 3.
    assert asked == [None, 14, 11, 6, None, 11, None, None]


def test_bfloat16_autocast_is_deterministic_and_close(model: MaskGmt) -> None:
    emb, mask = text_inputs(2)

    def run(dtype: torch.dtype | None) -> torch.Tensor:
        return model.generate(
            text_embeds=emb, text_mask=mask, compute_dtype=dtype,
            generator=torch.Generator().manual_seed(0),
        )  # fmt: skip

    a, b = run(torch.bfloat16), run(torch.bfloat16)
    assert torch.equal(a, b)
    assert a.dtype == torch.long and a.shape == (2, K, T)
    assert next(model.parameters()).dtype == torch.float32  # autocast: the weights are untouched
    assert torch.equal(run(torch.float32), run(None))  # the model's own dtype: no autocast
