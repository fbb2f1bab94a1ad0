"""Shared fixtures for the model tests: a fake text encoder, tiny model builders, one CPU thread."""

from __future__ import annotations

import zlib

import pytest
import torch

from maskgmt.model import MaskGmt, MaskGmtTransformer, TokenCritic, debug_model
from maskgmt.model.debug import DEBUG_TRANSFORMER, debug_critic, debug_transformer

V, K, T, TEXT_DIM = (DEBUG_TRANSFORMER[k] for k in ("num_tokens", "n_q", "seq_len", "text_dim"))


class FakeTextEncoder:
    """Follows the `maskgmt.text` TextEncoder protocol: a fixed random vector per word."""

    name = "fake"
    max_length = 8

    def __init__(self, dim: int = TEXT_DIM) -> None:
        self.dim = dim
        self.calls = 0

    def encode(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        self.calls += 1
        words = [t.split()[: self.max_length] or [""] for t in texts]
        length = max(len(w) for w in words)
        emb = torch.zeros(len(texts), length, self.dim)
        mask = torch.zeros(len(texts), length, dtype=torch.bool)
        for i, caption in enumerate(words):
            for j, word in enumerate(caption):
                gen = torch.Generator().manual_seed(zlib.crc32(word.encode()))
                emb[i, j] = torch.randn(self.dim, generator=gen)
                mask[i, j] = True
        return emb, mask


def tiny_transformer(**overrides) -> MaskGmtTransformer:
    """`debug_transformer`: V=32, K=4, T=16, text_dim=16, dim 32, 2 blocks of 4 heads x 8."""
    return debug_transformer(**overrides)


def tiny_critic(**overrides) -> TokenCritic:
    """`debug_critic`: the same V, K, T, text_dim; dim 16, 1 block of 2 heads x 8."""
    return debug_critic(**overrides)


def make_plan(**overrides):
    """A generate() plan with test defaults (8 steps, CFG 3 on level 0, temperature 1)."""
    from maskgmt.model.plan import DecodePlan

    base = dict(
        steps=(8,), cond_scale=3.0, min_cond_scale=None, cfg_levels=1, temperature=1.0,
        top_k=None, top_p=None, use_critic=False,
    )  # fmt: skip
    return DecodePlan(**{**base, **overrides})


def random_codes(batch: int, *, seed: int = 0, frames: int = T) -> torch.Tensor:
    return torch.randint(0, V, (batch, K, frames), generator=torch.Generator().manual_seed(seed))


def text_inputs(batch: int, *, seed: int = 0, length: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    """Random text embeddings [B, L, TEXT_DIM] with a padded tail on the first caption."""
    gen = torch.Generator().manual_seed(seed)
    emb = torch.randn(batch, length, TEXT_DIM, generator=gen)
    mask = torch.ones(batch, length, dtype=torch.bool)
    mask[0, length // 2 :] = False
    return emb, mask


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models run fastest, and most repeatably, on one thread of a shared machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def encoder() -> FakeTextEncoder:
    return FakeTextEncoder()


@pytest.fixture
def model(encoder: FakeTextEncoder) -> MaskGmt:
    return debug_model(seed=0, text_encoder=encoder).eval()


@pytest.fixture
def critic_model(encoder: FakeTextEncoder) -> MaskGmt:
    return debug_model(seed=0, critic=True, text_encoder=encoder).eval()


def fit_level0(model: MaskGmt, codes: torch.Tensor, *, steps: int = 120, **cues) -> float:
    """Train `model` on level 0 of codes[B, K, T] fully masked, with blank captions and the
    given cue keywords (bpm, frame_offset, key) -> the last loss. Seeded: repeatable."""
    b = codes.shape[0]
    emb, mask = torch.zeros(b, 1, TEXT_DIM), torch.ones(b, 1, dtype=torch.bool)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for step in range(steps):
        out = model.compute_loss(
            codes, text_embeds=emb, text_mask=mask, levels=torch.zeros(b, dtype=torch.long),
            token_mask=torch.ones(b, codes.shape[-1], dtype=torch.bool),
            generator=torch.Generator().manual_seed(step), **cues,
        )  # fmt: skip
        opt.zero_grad()
        out.loss.backward()
        opt.step()
    return float(out.loss.detach())
