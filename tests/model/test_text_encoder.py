"""texts=: the registered loader builds the encoder once; it stays frozen and out of the weights."""

from __future__ import annotations

import pytest
import torch

from maskgmt.model import MaskGmt, set_text_encoder_loader, text_loader

from .conftest import FakeTextEncoder, random_codes, tiny_transformer


@pytest.fixture
def loader_calls():
    names: list[str] = []
    before = text_loader._loader

    def load(name: str) -> FakeTextEncoder:
        names.append(name)
        return FakeTextEncoder()

    set_text_encoder_loader(load)
    yield names
    set_text_encoder_loader(before)


def test_texts_use_the_registered_loader_once(loader_calls: list[str]) -> None:
    model = MaskGmt(transformer=tiny_transformer(), text_encoder_name="my-encoder")
    n_params = sum(p.numel() for p in model.parameters())
    model(random_codes(2), ["a b", "c"]).backward()
    model.generate(["a b"], steps=1)
    assert loader_calls == ["my-encoder"]
    assert isinstance(model.text_encoder, FakeTextEncoder)
    assert sum(p.numel() for p in model.parameters()) == n_params  # not optimized
    assert not any("encoder" in k for k in model.state_dict())  # not saved


def test_loader_with_wrong_width(loader_calls: list[str]) -> None:
    model = MaskGmt(transformer=tiny_transformer(text_dim=384))
    with pytest.raises(ValueError, match="text_encoder: expected embeddings of width text_dim=384"):
        model(random_codes(1), ["a"])


def test_no_loader_is_a_clear_error() -> None:
    before = text_loader._loader
    set_text_encoder_loader(None)
    try:
        model = MaskGmt(transformer=tiny_transformer())
        with pytest.raises(ValueError, match="texts: no text encoder is attached"):
            model(random_codes(1), ["a"])
    finally:
        set_text_encoder_loader(before)


def test_embeddings_need_no_encoder() -> None:
    model = MaskGmt(transformer=tiny_transformer())
    emb, mask = torch.randn(1, 2, 16), torch.ones(1, 2, dtype=torch.bool)
    assert model(random_codes(1), text_embeds=emb, text_mask=mask).dim() == 0
    assert model.text_encoder is None
