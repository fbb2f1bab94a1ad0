"""The training loop: loss goes down, the model folder, exact resume, and resume errors."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from train_fixtures import make_cache

from maskgmt.data.dataset import CodesDataset
from maskgmt.model import MaskGmt
from maskgmt.train.checkpoint import latest_checkpoint, list_checkpoints
from maskgmt.train.config import TrainConfig, config_from_dict
from maskgmt.train.data import fixed_batch
from maskgmt.train.loop import train


def tiny(**over: dict) -> TrainConfig:
    base = {
        "model": {"dim": 32, "depth": 1, "heads": 2, "dim_head": 16, "ff_mult": 2.0},
        "data": {"crop_seconds": 3.0, "batch_size": 4},
        "optim": {"lr": 3e-3, "warmup_steps": 2, "max_steps": 40},
        "log": {"log_every": 5, "val_every": 20, "ckpt_every": 10, "sample_every": 0,
                "progress": False},
    }  # fmt: skip
    for section, values in over.items():
        base.setdefault(section, {}).update(values)
    return config_from_dict(base)


def _eval_loss(model: MaskGmt, cache_dir: Path) -> float:
    """Mean loss of `model` over the cache, with fixed masks, so two models compare fairly."""
    from maskgmt.data.cache import load_cache

    ds, _ = load_cache(cache_dir)
    items = CodesDataset(ds, seq_len=30, random_crop=False, text_embeds=True)
    batch = fixed_batch(items, range(len(ds)))
    gen = torch.Generator().manual_seed(0)
    model.eval()
    with torch.no_grad():
        losses = [
            model.compute_loss(
                batch["codes"], text_embeds=batch["text_embeds"], text_mask=batch["text_mask"],
                padding_mask=batch["padding_mask"], generator=gen,
            ).loss.item()
            for _ in range(4)
        ]  # fmt: skip
    return sum(losses) / len(losses)


class ToneCodec:
    """Stand-in codec for the TensorBoard samples: level-0 codes -> sine pitches, 8 kHz."""

    sample_rate, channels, frame_rate, n_q, codebook_size = 8000, 1, 10.0, 2, 16

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        hop = self.sample_rate // int(self.frame_rate)
        freq = 200.0 + 20.0 * codes[:, 0].float().repeat_interleave(hop, dim=-1)  # (B, S)
        phase = torch.cumsum(2 * torch.pi * freq / self.sample_rate, dim=-1)
        return 0.3 * torch.sin(phase)[:, None, :]  # (B, C=1, S)


def test_training_lowers_loss_and_writes_model_folder(cache_dir: Path, tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    cfg = tiny(log={"sample_every": 40, "num_samples": 1, "sample_steps": [2, 1]})
    run = tmp_path / "run"
    result = train(cfg, data_dir=cache_dir, out_dir=run, codec=ToneCodec())
    assert result.steps == 40
    # keep_last=3 of the checkpoints at 10, 20, 30, 40
    assert [p.name for p in list_checkpoints(run)] == [f"step_{s:08d}" for s in (20, 30, 40)]
    assert (run / "config.yaml").is_file()

    events = EventAccumulator(str(run / "tensorboard"), size_guidance={"audio": 0}).Reload()
    tags = events.Tags()
    for tag in ("train/loss_level0", "train/acc_level1", "train/lr", "train/tokens_per_s",
                "train/grad_norm", "val/loss"):  # fmt: skip
        assert tag in tags["scalars"], tag
    assert [e.step for e in events.Scalars("train/loss")] == list(range(5, 41, 5))
    assert "samples/0/audio" in tags["audio"] and "samples/0/spectrogram" in tags["images"]

    loaded = MaskGmt.from_pretrained(result.model_dir)
    meta = loaded.metadata
    assert meta["codec"]["kind"] == "test" and meta["codec"]["n_q"] == 2
    assert meta["text_encoder"] == "test-encoder"
    assert meta["train"]["steps"] == 40
    # validation scores every level on the same clip, however few clips are held out
    val = meta["train"]["val_loss_per_level"]
    uniform = math.log(16)  # 2.77: the loss of a uniform guess over 16 codes
    assert len(val) == 2 and all(v is not None and 0 < v < uniform + 0.1 for v in val)
    # Level 1 follows from level 0 (visible when level 1 is trained): the held-out clip must
    # beat a uniform guess there. Level 0 of an unseen clip does not yet after 40 steps (2.81).
    assert val[1] < uniform - 0.1 and sum(val) / 2 < uniform
    assert torch.equal(result.model.level_weights, torch.ones(2))  # level choice restored
    assert not (result.model_dir / "codec").exists()  # the test codec is not a local folder

    untrained = MaskGmt.from_pretrained(result.model_dir)
    for p in untrained.parameters():
        torch.nn.init.normal_(p, std=0.02)
    after = _eval_loss(loaded, cache_dir)
    assert after < _eval_loss(untrained, cache_dir) - 0.15
    assert after < 2.7  # ln(16) = 2.77 is the loss of a uniform guess over 16 codes


def test_resume_is_bit_exact(cache_dir: Path, tmp_path: Path) -> None:
    # 11 training clips in batches of 2 = 5 batches an epoch; 2 micro-batches per step, so
    # stopping after step 3 (6 batches) is mid-epoch. EMA on, so its state must resume too.
    cfg = tiny(
        data={"batch_size": 2},
        optim={"grad_accum_steps": 2, "ema_decay": 0.9, "max_steps": 6},
        log={"ckpt_every": 100, "val_every": 0},
    )
    straight = train(cfg, data_dir=cache_dir, out_dir=tmp_path / "a")
    first = train(cfg, data_dir=cache_dir, out_dir=tmp_path / "b", max_steps=3)
    assert first.steps == 3
    resumed = train(cfg, data_dir=cache_dir, out_dir=tmp_path / "b", resume=True)
    assert resumed.steps == 6

    a, b = latest_checkpoint(tmp_path / "a"), latest_checkpoint(tmp_path / "b")
    assert a.name == b.name == "step_00000006"
    for name in ("model.safetensors", "ema.safetensors", "optimizer.safetensors"):
        ta, tb = load_file(a / name), load_file(b / name)
        assert ta.keys() == tb.keys()
        for key in ta:
            assert torch.equal(ta[key], tb[key]), f"{name}:{key}"
    for pa, pb in zip(straight.model.parameters(), resumed.model.parameters(), strict=True):
        assert torch.equal(pa, pb)


def test_resume_errors(cache_dir: Path, tmp_path: Path) -> None:
    cfg = tiny(optim={"max_steps": 2}, log={"val_every": 0})
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        train(cfg, data_dir=cache_dir, out_dir=tmp_path / "run", resume=True)
    train(cfg, data_dir=cache_dir, out_dir=tmp_path / "run")
    with pytest.raises(ValueError, match="already holds checkpoints.*--resume"):
        train(cfg, data_dir=cache_dir, out_dir=tmp_path / "run")
    bigger = tiny(model={"dim": 48}, optim={"max_steps": 4})
    with pytest.raises(ValueError, match=r"'dim': 32.*this run has model.*'dim': 48"):
        train(bigger, data_dir=cache_dir, out_dir=tmp_path / "run", resume=True)
    with pytest.raises(FileNotFoundError, match="not a token cache"):
        train(cfg, data_dir=tmp_path / "nothing", out_dir=tmp_path / "run2")


class HashTextEncoder:
    """Stand-in `TextEncoder`: one deterministic 8-d vector per word."""

    name, dim, max_length = "hash-words", 8, 16

    def encode(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        words = [t.split()[: self.max_length] for t in texts]
        length = max(len(w) for w in words)
        emb = torch.zeros(len(texts), length, self.dim)
        mask = torch.zeros(len(texts), length, dtype=torch.bool)
        for b, ws in enumerate(words):
            for i, w in enumerate(ws):
                gen = torch.Generator().manual_seed(sum(map(ord, w)))
                emb[b, i] = torch.randn(self.dim, generator=gen)
                mask[b, i] = True
        return emb, mask


def test_text_encoder_and_local_codec_folder(tmp_path: Path) -> None:
    """Without cached embeddings the loop encodes captions itself; a local codec folder is
    copied into the model folder and referenced as "codec"."""
    import json

    cache = make_cache(tmp_path / "cache", num_clips=6, embeds=False)
    codec_dir = tmp_path / "my_codec"
    codec_dir.mkdir()
    (codec_dir / "codec.json").write_text("{}")
    info_file = cache / "cache_info.json"
    info = json.loads(info_file.read_text())
    info["codec"]["source"] = str(codec_dir)
    info_file.write_text(json.dumps(info))

    cfg = tiny(optim={"max_steps": 2}, log={"val_every": 0})
    result = train(cfg, data_dir=cache, out_dir=tmp_path / "run", text_encoder=HashTextEncoder())
    meta = MaskGmt.from_pretrained(result.model_dir).metadata
    assert meta["text_encoder"] == "hash-words"
    assert meta["codec"]["source"] == "codec"
    assert (result.model_dir / "codec" / "codec.json").is_file()
    assert result.model.transformer.config.text_dim == 8


def test_time_budget_stops_with_checkpoint_and_model(cache_dir: Path, tmp_path: Path) -> None:
    cfg = tiny(optim={"max_steps": 1000}, log={"val_every": 0})
    result = train(cfg, data_dir=cache_dir, out_dir=tmp_path / "run", max_minutes=1e-5)
    assert result.steps == 1  # the budget (0.6 ms) is spent after the first step
    assert latest_checkpoint(tmp_path / "run").name == "step_00000001"
    assert MaskGmt.from_pretrained(result.model_dir).metadata["train"]["steps"] == 1


class RecordingEncoder(HashTextEncoder):
    """HashTextEncoder that keeps every caption it was asked to encode."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def encode(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        self.seen += texts
        return super().encode(texts)


def test_the_mode_contrast_encodes_each_captions_counterfactual(tmp_path: Path) -> None:
    """With `model.contrast: mode`, every training caption that names a key is also encoded
    with the other mode (the clips' captions all say D minor, so "D major" comes only from
    the contrast), and the run logs the contrast gap."""
    cache = make_cache(tmp_path / "cache", num_clips=8, attributes=True)
    encoder = RecordingEncoder()
    cfg = tiny(optim={"max_steps": 4}, log={"val_every": 0, "log_every": 2},
               data={"partial_captions": 1.0}, model={"contrast": "mode"})  # fmt: skip
    train(cfg, data_dir=cache, out_dir=tmp_path / "run", text_encoder=encoder)
    minor = [t for t in encoder.seen if "D minor" in t]
    major = [t for t in encoder.seen if "D major" in t]
    assert minor and sorted(t.replace("D major", "D minor") for t in major) == sorted(minor)
    events = list((tmp_path / "run").rglob("events.out.tfevents*"))
    assert events and b"train/contrast_gap" in b"".join(p.read_bytes() for p in events)


def test_partial_captions_are_encoded_during_training(tmp_path: Path) -> None:
    """With `data.partial_captions`, short captions reach the encoder (none is cached), and a
    cache without the attribute columns is refused by name."""
    cache = make_cache(tmp_path / "cache", num_clips=8, attributes=True)
    encoder = RecordingEncoder()
    cfg = tiny(optim={"max_steps": 6}, log={"val_every": 0}, data={"partial_captions": 1.0})
    train(cfg, data_dir=cache, out_dir=tmp_path / "run", text_encoder=encoder)
    train_texts = [t for t in encoder.seen if not t.startswith("style ")]
    assert len(train_texts) >= 6 * cfg.data.batch_size
    assert any("cello" in t for t in train_texts) and any("D minor" in t for t in train_texts)
    with pytest.raises(ValueError, match="lacks \\['accompaniment'"):
        train(cfg, data_dir=make_cache(tmp_path / "plain", num_clips=4), out_dir=tmp_path / "r2",
              text_encoder=encoder)  # fmt: skip


def test_two_runs_of_one_config_and_seed_end_bit_identical(tmp_path: Path) -> None:
    """Every random draw of a run (crops, masks, partial captions, the contrast's masks) comes
    from the seed: two fresh runs see the same captions and end with the same weights. A recipe
    comparison rests on this: a difference between two runs is the recipe, not the machine."""
    cache = make_cache(tmp_path / "cache", num_clips=8, attributes=True)
    cfg = tiny(
        optim={"max_steps": 4},
        log={"val_every": 0},
        data={"partial_captions": 0.5},
        model={"tempo_clock": True, "contrast": "mode"},
    )
    runs, seen = [], []
    for name in ("a", "b"):
        encoder = RecordingEncoder()
        runs.append(train(cfg, data_dir=cache, out_dir=tmp_path / name, text_encoder=encoder))
        seen.append(encoder.seen)
    assert seen[0] == seen[1] and any(t != seen[0][0] for t in seen[0])
    for pa, pb in zip(runs[0].model.parameters(), runs[1].model.parameters(), strict=True):
        assert torch.equal(pa, pb)
    other = train(config_from_dict({**cfg.to_dict(), "seed": cfg.seed + 1}), data_dir=cache,
                  out_dir=tmp_path / "c", text_encoder=RecordingEncoder())  # fmt: skip
    pairs = zip(runs[0].model.parameters(), other.model.parameters(), strict=True)
    assert not all(torch.equal(pa, pc) for pa, pc in pairs)
