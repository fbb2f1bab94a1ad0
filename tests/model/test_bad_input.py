"""Every bad input is a ValueError that names the argument, what was expected and what came."""

from __future__ import annotations

import pytest
import torch

from maskgmt.model import MaskGmt

from .conftest import (
    TEXT_DIM,
    FakeTextEncoder,
    K,
    T,
    V,
    random_codes,
    tiny_critic,
    tiny_transformer,
)

CAPTIONS = ["a", "b"]


@pytest.mark.parametrize(
    ("codes", "match"),
    [
        (
            torch.zeros(K, T, dtype=torch.long),
            r"music_ids: expected a LongTensor \[B, K, T\].*shape \(4, 16\)",
        ),
        (torch.zeros(2, K, T), r"music_ids: expected integer codes.*float32"),
        (torch.full((2, K, T), V), rf"music_ids: expected code values in \[0, {V}\).*\[{V}, {V}\]"),
        (torch.full((2, K, T), -1), rf"music_ids: expected code values in \[0, {V}\).*\[-1, -1\]"),
        (
            torch.zeros(2, K + 1, T, dtype=torch.long),
            rf"music_ids: expected K = n_q = {K}.*got K = {K + 1}",
        ),
        (
            torch.zeros(2, K, T + 1, dtype=torch.long),
            rf"music_ids: expected 1 <= T <= seq_len = {T}.*T = {T + 1}",
        ),
    ],
    ids=["rank", "dtype", "too-high", "negative", "levels", "too-long"],
)
def test_bad_music_ids(model: MaskGmt, codes: torch.Tensor, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        model(codes, CAPTIONS)


def test_wrong_number_of_texts(model: MaskGmt) -> None:
    with pytest.raises(ValueError, match=r"texts: expected one caption per clip \(2\), got 3"):
        model(random_codes(2), ["a", "b", "c"])


def test_empty_text_list(model: MaskGmt) -> None:
    with pytest.raises(ValueError, match="texts: expected a non-empty list.*empty list"):
        model(random_codes(2), [])
    with pytest.raises(ValueError, match="texts: expected a non-empty list.*empty list"):
        model.generate([])


def test_text_is_not_a_list(model: MaskGmt) -> None:
    with pytest.raises(ValueError, match="texts: expected a list of captions.*str"):
        model(random_codes(1), "one caption")


def test_nan_text_embeddings(model: MaskGmt) -> None:
    emb = torch.randn(2, 3, TEXT_DIM)
    emb[1, 0, 0] = float("nan")
    mask = torch.ones(2, 3, dtype=torch.bool)
    with pytest.raises(ValueError, match="text_embeds: expected finite values, got NaN"):
        model(random_codes(2), text_embeds=emb, text_mask=mask)
    with pytest.raises(ValueError, match="text_embeds: expected finite values, got NaN"):
        model.generate(text_embeds=emb, text_mask=mask)


def test_text_embeddings_of_wrong_width_or_mask(model: MaskGmt) -> None:
    mask = torch.ones(2, 3, dtype=torch.bool)
    with pytest.raises(ValueError, match=rf"text_embeds: expected text width {TEXT_DIM}.*got 7"):
        model(random_codes(2), text_embeds=torch.randn(2, 3, 7), text_mask=mask)
    with pytest.raises(ValueError, match=r"text_mask: expected a bool tensor of shape \(2, 3\)"):
        model(random_codes(2), text_embeds=torch.randn(2, 3, TEXT_DIM), text_mask=mask.float())
    with pytest.raises(ValueError, match="text_mask: expected a bool tensor.*got None"):
        model(random_codes(2), text_embeds=torch.randn(2, 3, TEXT_DIM))


def test_both_texts_and_embeddings(model: MaskGmt) -> None:
    emb, mask = torch.randn(2, 3, TEXT_DIM), torch.ones(2, 3, dtype=torch.bool)
    with pytest.raises(ValueError, match="texts: got both texts and text_embeds"):
        model(random_codes(2), CAPTIONS, text_embeds=emb, text_mask=mask)


@pytest.mark.parametrize(
    ("steps", "match"),
    [
        ((4, 2, 2, 2, 2), rf"steps: expected at most one count per codec level \({K}\), got 5"),
        ((), r"steps: expected an int or 1 to 4 ints"),
        ((4, 2, 0, 1), r"steps: expected ints >= 1, got \(4, 2, 0, 1\)"),
        ("8", "steps: expected an int or a sequence"),
    ],
)
def test_bad_steps(model: MaskGmt, steps, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        model.generate(CAPTIONS, steps=steps)


def test_bad_padding_mask(model: MaskGmt) -> None:
    with pytest.raises(
        ValueError, match=r"padding_mask: expected a bool tensor of shape \(2, 16\)"
    ):
        model(random_codes(2), CAPTIONS, padding_mask=torch.ones(2, 15, dtype=torch.bool))
    empty = torch.ones(2, T, dtype=torch.bool)
    empty[1] = False
    with pytest.raises(ValueError, match="padding_mask: expected at least one real"):
        model(random_codes(2), CAPTIONS, padding_mask=empty)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            dict(num_frames=T + 1),
            rf"num_frames: expected an int in \[1, seq_len = {T}\], got {T + 1}",
        ),
        (dict(num_frames=0), "num_frames: expected an int"),
        (dict(cond_scale=-1.0), "cond_scale: expected a number"),
        (dict(temperature=float("nan")), "temperature: expected a number"),
        (dict(top_k=0), "top_k: expected None or an int"),
        (dict(top_p=1.5), "top_p: expected a number"),
        (dict(use_token_critic=True), "use_token_critic: got True but the model has no critic"),
        (dict(prompt=torch.zeros(2, K - 1, T, dtype=torch.long)), "prompt: expected K = n_q"),
        (dict(prompt=torch.full((2, K, T), V)), r"prompt: expected code values in \[0, 32\)"),
        (
            dict(prompt=torch.zeros(3, K, T, dtype=torch.long)),
            r"prompt: expected batch size 2 \(from texts\), got 3",
        ),
        (
            dict(prompt=torch.zeros(2, K, T, dtype=torch.long), prompt_mask=torch.ones(2, K, T)),
            "prompt_mask: expected a bool tensor",
        ),
        (
            dict(prompt_mask=torch.ones(2, K, T, dtype=torch.bool)),
            "prompt_mask: got a prompt_mask without a prompt",
        ),
        (dict(negative_texts=["x"]), r"negative_texts: expected one caption per clip \(2\), got 1"),
        (
            dict(cfg_levels=K + 1),
            rf"cfg_levels: expected None .* an int in \[0, {K}\].*got {K + 1}",
        ),
        (dict(cfg_levels=True), r"cfg_levels: expected None .*got True"),
        (dict(compute_dtype="bf16"), r"compute_dtype: expected None or a floating torch.dtype"),
        (dict(compute_dtype=torch.long), r"compute_dtype: expected .*got torch.int64"),
    ],
)
def test_bad_generate_arguments(model: MaskGmt, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        model.generate(CAPTIONS, **kwargs)


def test_bad_construction() -> None:
    with pytest.raises(ValueError, match="dim: expected an int >= 1, got 0"):
        tiny_transformer(dim=0)
    with pytest.raises(ValueError, match="cond_drop_prob: expected a float in"):
        MaskGmt(transformer=tiny_transformer(), cond_drop_prob=1.5)
    with pytest.raises(
        ValueError, match="token_critic: got a TokenCritic and self_token_critic=True"
    ):
        MaskGmt(transformer=tiny_transformer(), token_critic=tiny_critic(), self_token_critic=True)
    with pytest.raises(ValueError, match="token_critic: expected num_tokens=32 to match"):
        MaskGmt(transformer=tiny_transformer(), token_critic=tiny_critic(num_tokens=64))
    with pytest.raises(ValueError, match="level_weights: expected 4 weights"):
        MaskGmt(transformer=tiny_transformer(), level_weights=[1.0, 1.0])
    with pytest.raises(
        ValueError, match=r"text_encoder: expected embeddings of width text_dim=16.*dim 8"
    ):
        MaskGmt(transformer=tiny_transformer(), text_encoder=FakeTextEncoder(dim=8))
