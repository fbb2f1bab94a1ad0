"""MiniLM from the PyPI package: meaning, shapes, padding and batching invariance, caching."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from maskgmt.text import MiniLMTextEncoder, TextEncoder, load_text_encoder, minilm_folder


def mean_pool(emb: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """emb[B, L, D], mask[B, L] -> (B, D) mean over real tokens."""
    weights = mask.unsqueeze(-1).float()
    return (emb * weights).sum(1) / weights.sum(1)


def test_embeddings_carry_meaning(minilm):
    emb, mask = minilm.encode(["a slow solo piano", "a calm piano piece", "fast heavy drums"])
    pooled = mean_pool(emb, mask)
    near = F.cosine_similarity(pooled[0], pooled[1], dim=0)
    far = F.cosine_similarity(pooled[0], pooled[2], dim=0)
    assert near > far + 0.1, (near, far)


def test_shapes_mask_dtype_and_zero_padding(minilm):
    assert isinstance(minilm, TextEncoder)
    assert minilm.dim == 384 and minilm.name == "minilm"
    emb, mask = minilm.encode(["piano", "a slow solo piano with soft strings"])
    assert emb.dtype == torch.float32 and mask.dtype == torch.bool
    assert emb.device.type == "cpu" and mask.device.type == "cpu"
    # [CLS] piano [SEP] = 3 tokens; the longer caption sets L.
    lengths = mask.sum(1).tolist()
    assert lengths[0] == 3 and lengths[1] == emb.shape[1] > 3
    assert emb.shape == (2, emb.shape[1], 384)
    assert mask[0, :3].all() and not mask[0, 3:].any()  # right padding
    assert emb[0, 3:].abs().max() == 0  # padded positions are exactly zero
    assert not emb.requires_grad


def test_padding_does_not_change_a_captions_states(minilm, captions):
    alone, alone_mask = minilm.encode(["a slow solo piano"])
    padded, padded_mask = minilm.encode(["a slow solo piano", captions[3] + " " + captions[6]])
    n = int(alone_mask.sum())
    assert padded.shape[1] > n and int(padded_mask[0].sum()) == n
    torch.testing.assert_close(padded[0, :n], alone[0, :n], atol=1e-4, rtol=1e-4)


def test_sub_batches_equal_one_batch_and_keep_order(minilm, captions):
    small = MiniLMTextEncoder(batch_size=3, progress=False)
    emb_small, mask_small = small.encode(captions)
    emb_one, mask_one = minilm.encode(captions)
    assert torch.equal(mask_small, mask_one)
    torch.testing.assert_close(emb_small, emb_one, atol=1e-4, rtol=1e-4)
    # Order is the caller's, not the length-sorted one: each row equals that caption alone.
    emb_last, mask_last = minilm.encode([captions[-1]])
    n = int(mask_last.sum())
    torch.testing.assert_close(emb_small[-1, :n], emb_last[0, :n], atol=1e-4, rtol=1e-4)


def test_unpadded_states_match_the_padded_rows(minilm, captions):
    emb, mask = minilm.encode(captions)
    states = minilm.encode_unpadded(captions)
    assert [s.shape[0] for s in states] == mask.sum(1).tolist()
    for b, s in enumerate(states):
        assert s.shape == (int(mask[b].sum()), 384) and s.dtype == torch.float32
        torch.testing.assert_close(s, emb[b, : s.shape[0]])


def test_model_is_frozen_cached_and_outputs_train_downstream(minilm):
    again = MiniLMTextEncoder(progress=False)
    assert again.model is minilm.model  # one load per process
    assert not minilm.model.training
    assert not any(p.requires_grad for p in minilm.model.parameters())
    # Outputs are ordinary tensors (no_grad, not inference_mode): a trainable layer on top
    # of them can backpropagate.
    emb, _ = minilm.encode(["a slow solo piano"])
    head = torch.nn.Linear(384, 4)
    head(emb).sum().backward()
    assert head.weight.grad is not None and head.weight.grad.abs().sum() > 0


def test_name_round_trips_through_loader(minilm):
    for name in ("minilm", "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"):
        encoder = load_text_encoder(name, progress=False)
        assert isinstance(encoder, MiniLMTextEncoder) and encoder.name == "minilm"
    from_folder = load_text_encoder(minilm_folder(), progress=False)  # the package's own folder
    assert from_folder.name == "minilm" and from_folder.model is minilm.model
    rebuilt = load_text_encoder(minilm.name, progress=False)
    assert rebuilt.model is minilm.model
    emb, _ = rebuilt.encode(["fast heavy drums"])
    ref, _ = minilm.encode(["fast heavy drums"])
    torch.testing.assert_close(emb, ref)
