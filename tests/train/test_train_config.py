"""Train config: presets, validation, YAML overrides and their errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from maskgmt.train.config import (
    PRESETS,
    DataConfig,
    ModelConfig,
    OptimConfig,
    TrainConfig,
    config_from_dict,
    get_preset,
    load_config,
)


def test_presets_grow_and_base_matches_readme_width() -> None:
    tiny, small, base = (get_preset(n) for n in ("tiny", "small", "base"))
    assert tiny.model.dim < small.model.dim < base.model.dim == 512
    assert tiny.model.depth <= small.model.depth <= base.model.depth
    assert tiny.data.crop_seconds <= 4.0
    assert set(PRESETS) == {"tiny", "small", "base"}
    with pytest.raises(ValueError, match="preset must be one of"):
        get_preset("huge")


def test_yaml_overrides_on_top_of_preset(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text(
        "optim:\n  lr: 0.002\n  betas: [0.8, 0.9]\nlog:\n  sample_steps: [4, 2]\nseed: 7\n"
    )
    cfg = load_config(f, base=get_preset("tiny"))
    assert cfg.optim.lr == 0.002 and cfg.optim.betas == (0.8, 0.9)
    assert cfg.log.sample_steps == (4, 2) and cfg.seed == 7
    assert cfg.model == get_preset("tiny").model  # untouched sections keep the preset
    # to_dict round-trips through the same loader
    assert config_from_dict(cfg.to_dict()) == cfg


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("optim:\n  lrr: 0.1\n", "unknown key 'optim.lrr'"),
        ("optimizer:\n  lr: 0.1\n", "unknown key 'optimizer'"),
        ("optim:\n  lr: fast\n", "'optim.lr' must be a number"),
        ("data:\n  batch_size: 2.5\n", "'data.batch_size' must be an integer"),
        ("log:\n  progress: 1\n", "'log.progress' must be true/false"),
        ("optim:\n  betas: [0.9]\n", "'optim.betas' must be a list of 2"),
        ("optim: 3\n", "'optim' must be a mapping"),
        ("optim:\n  lr: -1.0\n", "optim.lr must be > 0"),
        ("- 1\n- 2\n", "expected a mapping"),
        ("optim: [\n", "not valid YAML"),
    ],
)
def test_bad_yaml_names_key_and_file(tmp_path: Path, text: str, needle: str) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    with pytest.raises(ValueError) as e:
        load_config(f)
    assert needle in str(e.value)
    assert str(f) in str(e.value)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.yaml"):
        load_config(tmp_path / "nope.yaml")


def test_post_init_validation() -> None:
    with pytest.raises(ValueError, match="optim.warmup_steps"):
        OptimConfig(warmup_steps=-1)
    with pytest.raises(ValueError, match="mixed_precision"):
        TrainConfig(mixed_precision="fp8")
    with pytest.raises(ValueError, match="data.partial_captions"):
        DataConfig(partial_captions=1.5)


def test_cli_reports_bad_config_without_traceback(tmp_path: Path, capsys) -> None:
    from maskgmt.cli import main

    f = tmp_path / "bad.yaml"
    f.write_text("optim:\n  lrr: 0.1\n")
    code = main(
        ["train", "--data", str(tmp_path), "--out", str(tmp_path / "r"), "--config", str(f)]
    )
    err = capsys.readouterr().err
    assert code == 2 and "unknown key 'optim.lrr'" in err and str(f) in err
    assert "Traceback" not in err
    code = main(["train", "--data", str(tmp_path), "--out", str(tmp_path / "r"), "--preset", "x"])
    assert code == 2 and "preset must be one of" in capsys.readouterr().err


def test_level_weights_pad_with_ones_and_reach_the_model(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from maskgmt.train.build import build_model

    path = tmp_path / "c.yaml"
    path.write_text("model:\n  level_weights: [3.0, 2.0]\n")
    cfg = load_config(path, base=get_preset("tiny"))
    assert cfg.model.level_weights == (3.0, 2.0)
    assert cfg.model.weights_for(4) == (3.0, 2.0, 1.0, 1.0)
    assert cfg.model.weights_for(1) == (3.0,)
    assert ModelConfig().weights_for(3) == (1.0, 1.0, 1.0)
    info = SimpleNamespace(codebook_size=16, n_q=4, frame_rate=75.0)
    model = build_model(cfg.model, info=info, seq_len=8, text_dim=8, text_name="x", seed=0)
    assert model.level_weights.tolist() == [3.0, 2.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="level_weights"):
        ModelConfig(level_weights=(0.0, 0.0))
    with pytest.raises(ValueError, match="level_weights"):
        ModelConfig(level_weights=(-1.0,))


def test_yaml_exponent_without_a_dot_is_a_float(tmp_path) -> None:
    from maskgmt.train.config import load_config

    path = tmp_path / "c.yaml"
    path.write_text("optim: {lr: 1e-3, weight_decay: 5E-2}\n")
    cfg = load_config(path)
    assert cfg.optim.lr == 0.001 and cfg.optim.weight_decay == 0.05
    path.write_text("optim: {lr: fast}\n")
    with pytest.raises(ValueError, match="optim.lr"):
        load_config(path)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"dim": 0}, "model.dim: .*got 0"),
        ({"heads": 0}, "model.heads: .*got 0"),
        ({"ff_mult": 0.0}, "model.ff_mult: .*got 0.0"),
        ({"span_len": 0}, "model.span_len: .*got 0"),
        ({"cond_drop_prob": 1.0}, "model.cond_drop_prob: .*got 1.0"),
        ({"prefix_prob": 2.0}, "model.prefix_prob: .*got 2.0"),
        ({"critic_loss_weight": -1.0}, "model.critic_loss_weight: .*got -1.0"),
        ({"text_encoder": ""}, "model.text_encoder: .*got ''"),
        ({"level_weights": (0.0, 0.0)}, r"model.level_weights: .*got \(0.0, 0.0\)"),
    ],
)
def test_model_section_is_validated_by_the_model_configs(fields: dict, message: str) -> None:
    """The model's dataclasses check the section; the message names the YAML key."""
    with pytest.raises(ValueError, match=message):
        ModelConfig(**fields)
    with pytest.raises(ValueError, match=rf"my.yaml: {message}"):
        config_from_dict({"model": dict(fields)}, source="my.yaml")


def test_model_section_builds_the_model_configs() -> None:
    cfg = get_preset("tiny").model
    backbone = cfg.backbone(num_tokens=16, seq_len=8, n_q=4, text_dim=8)
    assert (backbone.dim, backbone.depth, backbone.heads) == (cfg.dim, cfg.depth, cfg.heads)
    choices = cfg.choices(n_q=4, text_encoder_name="minilm")
    assert choices.level_weights == cfg.weights_for(4) and choices.span_len == cfg.span_len
