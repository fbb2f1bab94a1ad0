"""The training rules that the shared-`hide_codes` invariant tests cannot see: what the trained
level shows, the mask schedule, span lengths, caption dropout, and a critic gradient that is not
zero."""

from __future__ import annotations

import math

import pytest
import torch

from maskgmt.model import MaskGmt
from maskgmt.model.backbone import CodeBackbone
from maskgmt.model.masking import sample_training_mask

from .conftest import K, T, V, random_codes, text_inputs, tiny_transformer


def _half_hidden(batch: int) -> torch.Tensor:
    """token_mask[B, T]: the even frames hidden, the odd frames visible."""
    hide = torch.zeros(batch, T, dtype=torch.bool)
    hide[:, ::2] = True
    return hide


# ---- what the trained level q shows -----------------------------------------------------------


def test_visible_tokens_of_the_trained_level_change_the_logits_at_hidden_ones(
    model: MaskGmt,
) -> None:
    """`logits()` hides all of level q by default, and `compute_loss` shares `hide_codes` with
    it, so a `hide_codes` that also hid the visible tokens of level q passes every other
    invariant test."""
    codes = random_codes(2)
    emb, mask = text_inputs(2)
    hide = _half_hidden(2)
    visible = ~hide
    for q in range(K):
        base = model.logits(codes, q, text_embeds=emb, text_mask=mask, token_mask=hide)
        changed = codes.clone()
        changed[:, q][visible] = (changed[:, q][visible] + 7) % V
        other = model.logits(changed, q, text_embeds=emb, text_mask=mask, token_mask=hide)
        assert not torch.allclose(base[hide], other[hide], atol=1e-4), q

        # ...and the same through the training loss, at a fixed level and mask.
        levels = torch.full((2,), q)
        a = model.compute_loss(
            codes, text_embeds=emb, text_mask=mask, levels=levels, token_mask=hide
        ).loss
        b = model.compute_loss(
            changed, text_embeds=emb, text_mask=mask, levels=levels, token_mask=hide
        ).loss
        assert not torch.allclose(a, b, atol=1e-5), q


def test_hidden_tokens_of_the_trained_level_are_not_seen(model: MaskGmt) -> None:
    """The values of the hidden tokens must never reach the logits (else the loss leaks)."""
    codes = random_codes(2)
    emb, mask = text_inputs(2)
    hide = _half_hidden(2)
    for q in range(K):
        base = model.logits(codes, q, text_embeds=emb, text_mask=mask, token_mask=hide)
        changed = codes.clone()
        changed[:, q][hide] = (changed[:, q][hide] + 7) % V
        other = model.logits(changed, q, text_embeds=emb, text_mask=mask, token_mask=hide)
        assert torch.equal(base, other), q


# ---- the training mask: schedule and spans ----------------------------------------------------

REAL = 150  # real frames per row; 50 padded frames follow


def _masks(span_len: int, rows: int = 4000, seed: int = 0) -> torch.Tensor:
    frames = torch.ones(rows, REAL + 50, dtype=torch.bool)
    frames[:, REAL:] = False
    gen = torch.Generator().manual_seed(seed)
    hide = sample_training_mask(frames, span_len=span_len, generator=gen)
    assert not hide[:, REAL:].any() and hide.sum(-1).min() >= 1
    return hide[:, :REAL]


def _cosine_quantile(p: float) -> float:
    """The p-quantile of cos(pi u / 2), u ~ U(0, 1): P(share <= x) = 1 - (2/pi) arccos(x)."""
    return math.cos(math.pi / 2 * (1 - p))


def test_hidden_share_follows_the_cosine_schedule() -> None:
    """share = cos(pi u / 2) at a uniform u: mean 2/pi ~ 0.637 and the cosine's quantiles.
    A linear or uniform share (mean 0.5, median 0.5) or a constant one must fail."""
    share = _masks(1).float().mean(-1)
    assert abs(share.mean().item() - 2 / math.pi) < 0.02
    for p in (0.1, 0.25, 0.5, 0.75, 0.9):
        assert abs(share.quantile(p).item() - _cosine_quantile(p)) < 0.03, p
    assert share.std().item() == pytest.approx(math.sqrt(0.5 - 4 / math.pi**2), abs=0.02)


def _runs(hide: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Lengths of the maximal runs of hidden frames, and whether each run ends at the last frame."""
    lengths, at_end = [], []
    for row in hide.tolist():
        run = 0
        for h in row:
            if h:
                run += 1
            elif run:
                lengths.append(run)
                at_end.append(False)
                run = 0
        if run:
            lengths.append(run)
            at_end.append(True)
    return torch.tensor(lengths), torch.tensor(at_end)


@pytest.mark.parametrize("span_len", [3, 5])
def test_span_masking_hides_whole_spans(span_len: int) -> None:
    """MAGNeT spans: no run of hidden frames is shorter than span_len (a run cut short by the
    clip's end excepted), some are exactly span_len (not longer spans), and the share still
    tracks the cosine schedule. Plain per-frame masking has most runs of length 1 or 2."""
    hide = _masks(span_len, rows=600)
    lengths, at_end = _runs(hide)
    inside = lengths[~at_end]
    assert int(inside.min()) == span_len
    assert (inside == span_len).sum() > 0.05 * len(inside)
    # per-frame masking at the same share, for contrast: its runs are mostly short
    plain, plain_end = _runs(_masks(1, rows=600))
    assert (plain[~plain_end] < span_len).float().mean() > 0.3
    share = hide.float().mean(-1)
    # The span path overshoots the cosine target a little (overlapping distinct starts):
    # measured mean 0.69 for span 3, 0.67 for span 5, against 2/pi = 0.637.
    assert abs(share.mean().item() - 2 / math.pi) < 0.07
    assert share.quantile(0.1).item() < 0.3 and share.quantile(0.9).item() > 0.9


# ---- caption dropout for classifier-free guidance ----------------------------------------------


def _dropped_share(model: MaskGmt, monkeypatch: pytest.MonkeyPatch, batch: int = 800) -> float:
    """Share of the captions that `compute_loss` handed to the text context as all-padding."""
    seen: list[torch.Tensor] = []
    original = CodeBackbone.text_context

    def spy(self, emb, mask, tempo=None):
        seen.append(mask.clone())
        return original(self, emb, mask, tempo)

    monkeypatch.setattr(CodeBackbone, "text_context", spy)
    emb = torch.randn(batch, 3, 16, generator=torch.Generator().manual_seed(0))
    mask = torch.ones(batch, 3, dtype=torch.bool)
    codes = torch.randint(0, V, (batch, K, 4), generator=torch.Generator().manual_seed(1))
    gen = torch.Generator().manual_seed(2)
    with torch.no_grad():
        model.compute_loss(codes, text_embeds=emb, text_mask=mask, generator=gen)
    monkeypatch.undo()
    (used,) = seen
    return (~used.any(-1)).float().mean().item()


@pytest.mark.parametrize("prob", [0.25, 0.6])
def test_caption_dropout_rate_in_training_and_none_in_eval(
    prob: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    torch.manual_seed(0)
    model = MaskGmt(transformer=tiny_transformer(), cond_drop_prob=prob)
    model.train()
    assert abs(_dropped_share(model, monkeypatch) - prob) < 0.06  # 800 draws: sd 0.017
    model.eval()
    assert _dropped_share(model, monkeypatch) == 0.0
    model.train()
    torch.manual_seed(0)
    never = MaskGmt(transformer=tiny_transformer(), cond_drop_prob=0.0).train()
    assert _dropped_share(never, monkeypatch) == 0.0


def test_a_dropped_caption_is_the_null_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """A dropped caption trains on the null text: the loss of an all-padding caption."""
    torch.manual_seed(0)
    model = MaskGmt(transformer=tiny_transformer(), cond_drop_prob=0.999)  # < 1: validated
    codes = random_codes(3)
    emb, mask = text_inputs(3)
    levels, hide = torch.tensor([0, 1, 3]), _half_hidden(3)
    with torch.no_grad():
        dropped = model.train().compute_loss(
            codes, text_embeds=emb, text_mask=mask, levels=levels, token_mask=hide,
            generator=torch.Generator().manual_seed(0),
        )  # fmt: skip
        null = model.eval().compute_loss(
            codes, text_embeds=emb, text_mask=torch.zeros_like(mask), levels=levels,
            token_mask=hide,
        )  # fmt: skip
        kept = model.eval().compute_loss(
            codes, text_embeds=emb, text_mask=mask, levels=levels, token_mask=hide
        )
    assert torch.allclose(dropped.loss, null.loss, atol=1e-6)
    assert not torch.allclose(dropped.loss, kept.loss, atol=1e-4)


# ---- gradients ---------------------------------------------------------------------------------


def test_critic_and_generator_get_nonzero_gradients(critic_model: MaskGmt) -> None:
    """`grad is not None` also holds for a critic loss added with weight 0: check the size."""
    critic_model.train()
    codes = random_codes(6)
    emb, mask = text_inputs(6)
    out = critic_model.compute_loss(codes, text_embeds=emb, text_mask=mask)
    out.loss.backward()
    critic = critic_model.token_critic
    assert critic.head.weight.grad is not None and critic.head.weight.grad.abs().sum() > 0
    assert sum(p.grad.abs().sum() for p in critic.backbone.parameters() if p.grad is not None) > 0
    assert critic_model.transformer.head_weight.grad.abs().sum() > 0
