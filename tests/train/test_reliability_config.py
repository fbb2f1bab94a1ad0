"""A config never carries a number training cannot use: NaN and inf (YAML `.inf`, `1e999`) are
refused by dotted key, a seed must fit the RNGs it seeds, and a NaN time budget is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from maskgmt.train.config import TrainConfig, config_from_dict, load_config
from maskgmt.train.loop import train


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"optim": {"lr": float("inf")}}, "optim.lr"),
        ({"optim": {"lr": "1e999"}}, "optim.lr"),  # YAML reads it as a str; it overflows
        ({"optim": {"betas": [0.9, float("nan")]}}, "optim.betas"),
        ({"data": {"crop_seconds": float("inf")}}, "data.crop_seconds"),
        ({"model": {"ff_mult": float("inf")}}, "model.ff_mult"),
    ],
)
def test_non_finite_numbers_are_refused_by_key(overrides: dict, key: str) -> None:
    with pytest.raises(ValueError, match=rf"'{key}' must be a finite number"):
        config_from_dict(overrides)


def test_a_seed_must_fit_the_rngs() -> None:
    assert TrainConfig(seed=2**32 - 1).seed == 2**32 - 1
    for seed in (-1, 2**32, 2**70):
        with pytest.raises(ValueError, match=r"train.seed must be in \[0, 2\*\*32 - 1\]"):
            TrainConfig(seed=seed)


def test_a_yaml_error_is_one_line_with_its_place(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("optim:\n  lr: 1\n\tx: 2\n")
    with pytest.raises(ValueError) as e:
        load_config(path)
    assert "\n" not in str(e.value)
    assert "c.yaml: not valid YAML (found character '\\t'" in str(e.value)
    assert "at line 3, column 1" in str(e.value)


def test_a_nan_time_budget_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_minutes must be > 0, got nan"):
        train(TrainConfig(), data_dir=tmp_path / "none", out_dir=tmp_path / "run",
              max_minutes=float("nan"))  # fmt: skip
