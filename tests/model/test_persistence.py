"""save_pretrained / from_pretrained: config.json + safetensors, exact round trip, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from maskgmt.model import MaskGmt

from .conftest import FakeTextEncoder, random_codes, text_inputs, tiny_critic, tiny_transformer


def _build(**kwargs) -> MaskGmt:
    torch.manual_seed(0)
    return MaskGmt(
        transformer=tiny_transformer(),
        token_critic=tiny_critic(),
        cond_drop_prob=0.1,
        critic_loss_weight=0.5,
        level_weights=[4, 2, 1, 1],
        span_len=3,
        text_encoder=FakeTextEncoder(),
        metadata={"codec": {"kind": "spectral", "n_q": 4}, "text_encoder": "fake"},
        **kwargs,
    ).eval()


def test_round_trip_gives_identical_logits(tmp_path: Path) -> None:
    model = _build()
    folder = model.save_pretrained(tmp_path / "m")
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors"]
    config = json.loads((folder / "config.json").read_text())
    assert config["transformer"]["dim"] == 32 and config["token_critic"]["depth"] == 1
    assert config["maskgmt"]["level_weights"] == [4, 2, 1, 1] and config["maskgmt"]["span_len"] == 3
    assert config["metadata"]["codec"]["kind"] == "spectral"
    assert not any(k.startswith("_text_encoder") for k in load_file(folder / "model.safetensors"))

    encoder = FakeTextEncoder()
    loaded = MaskGmt.from_pretrained(folder, device="cpu", text_encoder=encoder)
    assert not loaded.training and loaded.text_encoder is encoder
    assert loaded.metadata == model.metadata and loaded.config == model.config
    codes = random_codes(2)
    emb, mask = text_inputs(2)
    for q in (0, 3):
        a = model.logits(codes, q, text_embeds=emb, text_mask=mask)
        b = loaded.logits(codes, q, text_embeds=emb, text_mask=mask)
        assert torch.equal(a, b)
    gen = [torch.Generator().manual_seed(7) for _ in range(2)]
    assert torch.equal(
        model.generate(["x y"], generator=gen[0]), loaded.generate(["x y"], generator=gen[1])
    )


def test_self_critic_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = MaskGmt(transformer=tiny_transformer(), self_token_critic=True).eval()
    loaded = MaskGmt.from_pretrained(model.save_pretrained(tmp_path))
    assert torch.equal(model.self_critic_head.weight, loaded.self_critic_head.weight)
    assert loaded.token_critic is None


def test_missing_folder_and_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        MaskGmt.from_pretrained(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="config.json: missing"):
        MaskGmt.from_pretrained(tmp_path / "empty")


def test_config_that_does_not_match_the_weights(tmp_path: Path) -> None:
    folder = _build().save_pretrained(tmp_path)
    config = json.loads((folder / "config.json").read_text())
    config["transformer"]["dim"] = 48
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(
        ValueError, match="model.safetensors: does not match config.json.*wrong shapes"
    ):
        MaskGmt.from_pretrained(folder)

    config["transformer"]["dim"] = 32
    config["transformer"]["width"] = 32
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"\[transformer\]: unknown keys \['width'\]"):
        MaskGmt.from_pretrained(folder)

    (folder / "config.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(ValueError, match="expected a maskgmt config"):
        MaskGmt.from_pretrained(folder)


def test_metadata_must_be_json(tmp_path: Path) -> None:
    model = _build()
    model.metadata["bad"] = object()
    with pytest.raises(ValueError, match="metadata: expected JSON-able values"):
        model.save_pretrained(tmp_path)


def test_push_to_hub_uploads_the_saved_files(monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub

    uploaded: dict = {}

    def create_repo(self, repo_id, *, private, exist_ok):
        uploaded["repo"] = (repo_id, private, exist_ok)
        return f"https://huggingface.co/{repo_id}"

    def upload_folder(self, *, repo_id, folder_path, commit_message):
        uploaded["files"] = sorted(p.name for p in Path(folder_path).iterdir())

    monkeypatch.setattr(huggingface_hub.HfApi, "create_repo", create_repo)
    monkeypatch.setattr(huggingface_hub.HfApi, "upload_folder", upload_folder)
    url = _build().push_to_hub("me/tiny", private=True)
    assert url.endswith("me/tiny") and uploaded["repo"] == ("me/tiny", True, True)
    assert uploaded["files"] == ["config.json", "model.safetensors"]


def test_hub_id_is_fetched_with_snapshot_download(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub

    folder = _build().save_pretrained(tmp_path / "snapshot")
    asked: list = []

    def snapshot_download(*, repo_id, allow_patterns):
        asked.append((repo_id, allow_patterns))
        return str(folder)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    loaded = MaskGmt.from_pretrained("me/tiny")
    assert asked == [("me/tiny", ["config.json", "model.safetensors"])]
    assert loaded.metadata["text_encoder"] == "fake"

    def offline(**kwargs):
        raise OSError("no network")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", offline)
    with pytest.raises(FileNotFoundError, match="could not be fetched from the Hugging Face hub"):
        MaskGmt.from_pretrained("me/other")
