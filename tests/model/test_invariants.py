"""Invariants of the masked model: what the logits, the loss and CFG may and may not depend on."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from maskgmt.model import MaskGmt
from maskgmt.model.level_inputs import LevelInputs

from .conftest import K, T, V, random_codes, text_inputs, tiny_transformer


def test_level_logits_ignore_levels_above(model: MaskGmt) -> None:
    codes = random_codes(2)
    emb, mask = text_inputs(2)
    for q in range(K):
        base = model.logits(codes, q, text_embeds=emb, text_mask=mask)
        changed_above = codes.clone()
        changed_above[:, q + 1 :] = (changed_above[:, q + 1 :] + 5) % V
        assert torch.equal(base, model.logits(changed_above, q, text_embeds=emb, text_mask=mask))
        if q > 0:  # ...but they do see the levels below
            changed_below = codes.clone()
            changed_below[:, q - 1] = (changed_below[:, q - 1] + 5) % V
            other = model.logits(changed_below, q, text_embeds=emb, text_mask=mask)
            assert not torch.allclose(base, other)


def test_padded_frames_change_nothing_on_real_frames(model: MaskGmt) -> None:
    codes = random_codes(2)
    emb, mask = text_inputs(2)
    padding = torch.ones(2, T, dtype=torch.bool)
    padding[1, 10:] = False
    other = codes.clone()
    other[1, :, 10:] = (other[1, :, 10:] + 3) % V
    a = model.logits(codes, 1, text_embeds=emb, text_mask=mask, padding_mask=padding)
    b = model.logits(other, 1, text_embeds=emb, text_mask=mask, padding_mask=padding)
    assert torch.allclose(a[padding], b[padding], atol=1e-6)
    assert not torch.allclose(a, model.logits(codes, 1, text_embeds=emb, text_mask=mask))


def test_loss_is_cross_entropy_on_masked_real_tokens_only(model: MaskGmt) -> None:
    codes = random_codes(2)
    emb, mask = text_inputs(2)
    padding = torch.ones(2, T, dtype=torch.bool)
    padding[1, 12:] = False
    levels = torch.tensor([0, 2])
    hide = torch.zeros(2, T, dtype=torch.bool)
    hide[0, [1, 4, 5]] = True
    hide[1, [0, 7, 13, 14]] = True  # 13 and 14 are padding: must not count
    out = model.compute_loss(
        codes, text_embeds=emb, text_mask=mask, padding_mask=padding, levels=levels, token_mask=hide
    )
    assert out.level_count.tolist() == [3, 0, 2, 0]

    ce = []
    for b, q in enumerate(levels.tolist()):
        logits = model.logits(
            codes[b : b + 1], q, text_embeds=emb[b : b + 1], text_mask=mask[b : b + 1],
            padding_mask=padding[b : b + 1], token_mask=hide[b : b + 1],
        )[0]  # fmt: skip
        pos = (hide[b] & padding[b]).nonzero()[:, 0]
        ce.append(F.cross_entropy(logits[pos], codes[b, q, pos], reduction="none"))
    expected = torch.cat(ce).mean()
    assert torch.allclose(out.loss, expected, atol=1e-5)
    assert out.critic_loss is None

    # Targets outside the masked real tokens (visible tokens above the level, padding) are unused.
    other = codes.clone()
    other[0, 1:] = (other[0, 1:] + 1) % V  # levels above level 0
    other[1, :, 12:] = (other[1, :, 12:] + 1) % V  # padded frames
    again = model.compute_loss(
        other, text_embeds=emb, text_mask=mask, padding_mask=padding, levels=levels, token_mask=hide
    )
    assert torch.allclose(out.loss, again.loss, atol=1e-6)


def test_loss_reports_levels_and_backprops(critic_model: MaskGmt) -> None:
    critic_model.train()
    codes = random_codes(6)
    emb, mask = text_inputs(6)
    out = critic_model.compute_loss(codes, text_embeds=emb, text_mask=mask)
    assert out.level_loss.shape == out.level_acc.shape == out.level_count.shape == (K,)
    assert out.level_count.sum() > 0 and out.critic_loss is not None
    trained = out.level_count > 0
    assert torch.all(out.level_loss[trained] > 0) and torch.all(out.level_loss[~trained] == 0)
    out.loss.backward()
    assert critic_model.token_critic.head.weight.grad.abs().sum() > 0  # not merely present
    assert critic_model.transformer.head_weight.grad.abs().sum() > 0


def test_running_input_sums_equal_full_embedding(model: MaskGmt) -> None:
    codes = random_codes(2)
    backbone = model.transformer.backbone
    inputs = LevelInputs(model, codes, T)
    with torch.no_grad():
        for q in range(K):
            fast = inputs.base(q) + backbone.embed_level(codes[:, q], q)
            masked = codes.clone()
            masked[:, q + 1 :] = V
            slow = backbone.embed_codes(masked) + backbone.frame_bias(q, T)
            assert torch.allclose(fast, slow, atol=1e-6)
            inputs.commit(q, codes[:, q])


def _reference_generate(
    model: MaskGmt, emb, mask, uncond_emb, uncond_mask, scale: float, cfg_levels: int = K
):
    """Greedy, one step per level, with SEPARATE cond and uncond passes through `model.logits`."""
    codes = torch.zeros(emb.shape[0], K, T, dtype=torch.long)
    for q in range(K):
        cond = model.logits(codes, q, text_embeds=emb, text_mask=mask)
        if scale == 1.0 or q >= cfg_levels:
            guided = cond
        else:
            uncond = model.logits(codes, q, text_embeds=uncond_emb, text_mask=uncond_mask)
            guided = uncond + scale * (cond - uncond)
        codes[:, q] = guided.argmax(-1)
    return codes


def test_batched_cfg_equals_two_separate_passes(model: MaskGmt) -> None:
    emb, mask = text_inputs(2)
    null_mask = torch.zeros(2, 1, dtype=torch.bool)
    null_emb = torch.zeros(2, 1, emb.shape[-1])
    for scale in (1.0, 3.0):
        for cfg_levels in (None, 1, 2):  # None: every level guided; 1: level 0 only
            made = model.generate(
                text_embeds=emb, text_mask=mask, steps=1, temperature=0.0, cond_scale=scale,
                cfg_levels=cfg_levels,
            )  # fmt: skip
            guided = K if cfg_levels is None else cfg_levels
            ref = _reference_generate(model, emb, mask, null_emb, null_mask, scale, guided)
            assert torch.equal(made, ref), (scale, cfg_levels)


def test_negative_prompt_replaces_unconditional_branch(model: MaskGmt) -> None:
    emb, mask = text_inputs(2)
    neg_emb, neg_mask = text_inputs(2, seed=5, length=3)
    made = model.generate(
        text_embeds=emb, text_mask=mask, negative_text_embeds=neg_emb, negative_text_mask=neg_mask,
        steps=1, temperature=0.0, cond_scale=4.0, cfg_levels=2,
    )  # fmt: skip
    assert torch.equal(made, _reference_generate(model, emb, mask, neg_emb, neg_mask, 4.0, 2))


def test_cfg_is_one_batched_forward_per_step(model: MaskGmt) -> None:
    calls: list[int] = []
    hook = model.transformer.backbone.register_forward_hook(
        lambda mod, args, out: calls.append(args[0].shape[0])
    )
    emb, mask = text_inputs(3)
    try:
        model.generate(text_embeds=emb, text_mask=mask, steps=(3, 2, 1, 1), cfg_levels=None)
        assert calls == [6] * 7  # cond + uncond stacked: batch 2B, one pass per step
        calls.clear()
        model.generate(text_embeds=emb, text_mask=mask, steps=(3, 2, 1, 1), cfg_levels=1)
        assert calls == [6] * 3 + [3] * 4  # only level 0 is guided
        calls.clear()
        model.generate(text_embeds=emb, text_mask=mask, steps=(3, 2, 1, 1))
        assert calls == [6] * 7  # default: levels 0-3, here every level of the K = 4 codec
        calls.clear()
        model.generate(text_embeds=emb, text_mask=mask, steps=(3, 2, 1, 1), cond_scale=1.0)
        assert calls == [3] * 7  # no guidance: the unconditional half is skipped
    finally:
        hook.remove()


def test_level_weights_and_self_critic() -> None:
    torch.manual_seed(0)
    model = MaskGmt(
        transformer=tiny_transformer(), self_token_critic=True, level_weights=[0, 0, 1, 0]
    )
    emb, mask = text_inputs(4)
    out = model.compute_loss(random_codes(4), text_embeds=emb, text_mask=mask)
    assert out.level_count[2] > 0 and out.level_count.sum() == out.level_count[2]
    assert out.critic_loss is not None
    out.loss.backward()
    assert model.self_critic_head.weight.grad.abs().sum() > 0

    prompt = random_codes(4, seed=9)
    given = torch.rand(4, K, T, generator=torch.Generator().manual_seed(1)) < 0.5
    made = model.eval().generate(
        text_embeds=emb, text_mask=mask, prompt=prompt, prompt_mask=given, steps=3
    )
    assert torch.equal(made[given], prompt[given])


def test_default_guidance_covers_levels_0_to_3_of_a_deeper_codec() -> None:
    """Timbre lies in levels 0-3 of the codec: the default guides those four and no more."""
    torch.manual_seed(0)
    model = MaskGmt(transformer=tiny_transformer(n_q=6)).eval()
    calls: list[int] = []
    hook = model.transformer.backbone.register_forward_hook(
        lambda mod, args, out: calls.append(args[0].shape[0])
    )
    emb, mask = text_inputs(2)
    try:
        model.generate(text_embeds=emb, text_mask=mask, steps=1)
    finally:
        hook.remove()
    assert calls == [4] * 4 + [2] * 2  # levels 0-3 at 2B (cond + uncond), levels 4-5 at B
