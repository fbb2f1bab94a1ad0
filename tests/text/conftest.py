"""Fixtures for text-encoder tests: offline Hub, the packaged MiniLM, a tiny random T5."""

from __future__ import annotations

import os

# Set before anything imports huggingface_hub, so no test can reach the network.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import io  # noqa: E402

import pytest  # noqa: E402

CAPTIONS = [
    "a slow solo piano",
    "a calm piano piece",
    "fast heavy drums",
    "an upbeat jazz trio with walking bass and brushed snare",
    "soft strings in a minor key",
    "loud brass fanfare in a major key",
    "gentle acoustic guitar melody at a moderate tempo",
    "a low cello line under a high flute",
]


@pytest.fixture(scope="session")
def captions() -> list[str]:
    return list(CAPTIONS)


@pytest.fixture(scope="session")
def minilm():
    from maskgmt.text import MiniLMTextEncoder

    return MiniLMTextEncoder(progress=False)


@pytest.fixture(scope="session")
def t5_tokenizer(tmp_path_factory):
    """A real T5 tokenizer built offline: a small SentencePiece unigram model (T5's id layout:
    pad=0, eos=1, unk=2, no bos) trained on captions, loaded as T5 loads `spiece.model`."""
    import sentencepiece as spm
    from transformers import AutoTokenizer

    folder = tmp_path_factory.mktemp("spiece")
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(CAPTIONS * 10),
        model_writer=model,
        vocab_size=96,
        model_type="unigram",
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        hard_vocab_limit=False,
        minloglevel=2,
    )
    (folder / "spiece.model").write_bytes(model.getvalue())
    (folder / "config.json").write_text('{"model_type": "t5"}')
    return AutoTokenizer.from_pretrained(folder, local_files_only=True)


@pytest.fixture(scope="session")
def tiny_t5_config(t5_tokenizer):
    from transformers import T5Config

    return T5Config(
        vocab_size=len(t5_tokenizer),
        d_model=32,
        d_kv=8,
        num_heads=4,
        d_ff=64,
        num_layers=2,
        relative_attention_num_buckets=8,
        dropout_rate=0.0,
    )


@pytest.fixture(scope="session")
def tiny_t5(tiny_t5_config, t5_tokenizer):
    from maskgmt.text import T5TextEncoder

    return T5TextEncoder.from_config(tiny_t5_config, t5_tokenizer, seed=0, progress=False)
