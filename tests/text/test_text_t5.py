"""T5 encoder: tiny random build, save -> from_pretrained(folder) round trip, offline hub ids."""

from __future__ import annotations

import pytest
import torch

from maskgmt.text import T5TextEncoder, TextEncoder, load_text_encoder, minilm_folder, sources


def test_from_config_shapes_mask_and_padding(tiny_t5, captions):
    assert isinstance(tiny_t5, TextEncoder) and tiny_t5.dim == 32
    emb, mask = tiny_t5.encode(captions)
    assert emb.dtype == torch.float32 and mask.dtype == torch.bool
    assert emb.shape == (len(captions), mask.shape[1], 32)
    lengths = mask.sum(1)
    assert int(lengths.max()) == mask.shape[1] and int(lengths.min()) < mask.shape[1]
    # Each caption alone gives the same states as inside the padded batch.
    for b in (0, 3):
        alone, alone_mask = tiny_t5.encode([captions[b]])
        n = int(alone_mask.sum())
        assert n == int(lengths[b]) and not mask[b, n:].any() and emb[b, n:].abs().sum() == 0
        torch.testing.assert_close(emb[b, :n], alone[0, :n], atol=1e-5, rtol=1e-5)


def test_from_config_weights_depend_only_on_seed(tiny_t5_config, t5_tokenizer, tiny_t5):
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    same = T5TextEncoder.from_config(tiny_t5_config, t5_tokenizer, seed=0, progress=False)
    assert torch.equal(torch.rand(1), before)  # global RNG untouched
    other = T5TextEncoder.from_config(tiny_t5_config, t5_tokenizer, seed=1, progress=False)
    text = ["a slow solo piano"]
    assert torch.equal(same.encode(text)[0], tiny_t5.encode(text)[0])
    assert not torch.allclose(other.encode(text)[0], tiny_t5.encode(text)[0])


def test_save_then_from_pretrained_folder_round_trip(tiny_t5, captions, tmp_path):
    folder = tiny_t5.save_pretrained(tmp_path / "tiny-t5")
    assert (folder / "config.json").is_file() and (folder / "model.safetensors").is_file()
    loaded = T5TextEncoder(folder, progress=False)  # transformers' from_pretrained(folder)
    assert loaded.model is not tiny_t5.model and loaded.name == str(folder)
    emb, mask = loaded.encode(captions)
    ref_emb, ref_mask = tiny_t5.encode(captions)
    assert torch.equal(mask, ref_mask)  # the reloaded tokenizer splits the same way
    torch.testing.assert_close(emb, ref_emb)
    # The name round-trips through the loader, which reads config.json to pick T5.
    again = load_text_encoder(loaded.name, progress=False)
    assert isinstance(again, T5TextEncoder) and again.name == loaded.name
    assert again.model is loaded.model  # cached per process
    again_bf16 = load_text_encoder(str(folder), dtype=torch.bfloat16, progress=False)
    emb_bf16, _ = again_bf16.encode(captions[:2])
    assert emb_bf16.dtype == torch.float32  # output is float32 whatever the weights' dtype
    assert next(again_bf16.model.parameters()).dtype == torch.bfloat16


def test_hub_id_offline_says_to_pass_a_local_folder():
    with pytest.raises(FileNotFoundError, match="local folder") as info:
        T5TextEncoder("t5-small")
    assert "HF_HUB_OFFLINE" in str(info.value) and "'t5-small'" in str(info.value)
    with pytest.raises(FileNotFoundError, match="local folder"):
        load_text_encoder("google/flan-t5-base")


def test_unreachable_hub_fails_fast_without_retries(monkeypatch):
    # Not offline by setting, but no network: the quick probe must stop before any download.
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.delenv("TRANSFORMERS_OFFLINE")
    monkeypatch.setattr(sources, "hub_is_offline", lambda: False)
    monkeypatch.setattr(sources, "hub_is_reachable", lambda timeout=3.0: False)

    def no_download(where, local_files_only):
        assert local_files_only, "tried to download although the Hub is unreachable"
        raise OSError("not in cache")

    with pytest.raises(FileNotFoundError, match="cannot be reached.*local folder"):
        sources.load_pretrained(no_download, "t5-base", what="T5 text encoder")


def test_wrong_architecture_folder_and_bad_names_are_refused():
    with pytest.raises(ValueError, match="not T5"):
        T5TextEncoder(minilm_folder())
    for bad in (None, "", 5):
        with pytest.raises(ValueError, match="hub id"):
            T5TextEncoder(bad)


def test_from_config_bad_arguments(tiny_t5_config, t5_tokenizer):
    from transformers import T5Config

    with pytest.raises(ValueError, match="T5Config"):
        T5TextEncoder.from_config({"d_model": 32}, t5_tokenizer)
    small = T5Config(vocab_size=10, d_model=8, d_kv=4, num_heads=2, d_ff=16, num_layers=1)
    with pytest.raises(ValueError, match="vocab_size"):
        T5TextEncoder.from_config(small, t5_tokenizer)
    with pytest.raises(ValueError, match="dtype"):
        T5TextEncoder.from_config(tiny_t5_config, t5_tokenizer, dtype=torch.int64)
