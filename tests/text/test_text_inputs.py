"""Bad input and truncation: clear errors, one log line, L capped at max_length."""

from __future__ import annotations

import logging

import pytest

from maskgmt.text import MiniLMTextEncoder, load_text_encoder

LONG = "a slow solo piano " * 20


@pytest.mark.parametrize(
    ("texts", "match"),
    [
        ([], "empty"),
        ("a slow solo piano", "single str"),
        (["a calm piano", None], r"texts\[1\].*NoneType"),
        (["a calm piano", 3], r"texts\[1\].*int"),
        (42, "list of strings"),
    ],
)
def test_bad_texts_raise_clear_value_errors(minilm, tiny_t5, texts, match):
    for encoder in (minilm, tiny_t5):
        with pytest.raises(ValueError, match=match):
            encoder.encode(texts)


def test_empty_caption_is_encoded_as_special_tokens_only(minilm):
    emb, mask = minilm.encode(["", "a slow solo piano"])
    assert mask[0].sum() == 2  # [CLS] [SEP]
    assert emb[0, :2].abs().sum() > 0


def test_truncation_caps_length_and_logs_once(caplog):
    encoder = MiniLMTextEncoder(max_length=8, progress=False)
    with caplog.at_level(logging.WARNING, logger="maskgmt.text"):
        emb, mask = encoder.encode([LONG, "piano", LONG + "drums"])
        encoder.encode([LONG])
    assert emb.shape[1] == 8 and mask[0].all() and mask[1].sum() == 3
    records = [r for r in caplog.records if "truncated" in r.getMessage()]
    assert len(records) == 1
    assert "2 of 3" in records[0].getMessage() and "max_length=8" in records[0].getMessage()


def test_t5_truncation_caps_length(tiny_t5_config, t5_tokenizer):
    from maskgmt.text import T5TextEncoder

    encoder = T5TextEncoder.from_config(tiny_t5_config, t5_tokenizer, max_length=5, progress=False)
    _, mask = encoder.encode([LONG])
    assert mask.shape == (1, 5) and mask.all()


def test_exactly_max_length_is_not_reported_as_truncated(caplog):
    # "a slow solo piano" is [CLS] a slow solo piano [SEP]: 6 tokens.
    encoder = MiniLMTextEncoder(max_length=6, progress=False)
    with caplog.at_level(logging.WARNING, logger="maskgmt.text"):
        _, mask = encoder.encode(["a slow solo piano"])
    assert mask.shape[1] == 6 and mask.all()
    assert not [r for r in caplog.records if "truncated" in r.getMessage()]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_length": 1}, "max_length"),
        ({"max_length": 1000}, "512 positions"),
        ({"batch_size": 0}, "batch_size"),
        ({"dtype": "float32"}, "dtype"),
    ],
)
def test_bad_constructor_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MiniLMTextEncoder(**kwargs)


def test_unknown_names_list_the_accepted_ones():
    for name in ("bert-base-uncased", "clap", "", None):
        with pytest.raises(ValueError, match="'minilm'.*'t5-base'"):
            load_text_encoder(name)


def test_missing_folder_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_text_encoder(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_text_encoder("./no/such/t5")
    with pytest.raises(FileNotFoundError, match="config.json"):
        load_text_encoder(tmp_path)  # exists, but holds no model
    with pytest.raises(FileNotFoundError, match="does not exist"):
        MiniLMTextEncoder(path=tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="`path`"):
        MiniLMTextEncoder(path="no-such-minilm")
