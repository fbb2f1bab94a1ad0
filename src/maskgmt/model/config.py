"""Validated config dataclasses: the code transformer / critic shape, and MaskGmt's choices."""

from __future__ import annotations

import inspect
import math
from dataclasses import MISSING, asdict, dataclass, fields
from typing import Any


def _require(ok: bool, name: str, expected: str, got: Any) -> None:
    if not ok:
        raise ValueError(f"{name}: expected {expected}, got {got!r}")


def _positive_int(name: str, value: Any) -> None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 1
    _require(ok, name, "an int >= 1", value)


@dataclass(frozen=True)
class BackboneConfig:
    """Shape of a bidirectional code transformer (`MaskGmtTransformer` and `TokenCritic`)."""

    num_tokens: int  # V: codes per codec level; the mask id is V itself
    seq_len: int  # longest T (frames) the position table covers
    dim: int  # D: model width
    n_q: int  # K: codec levels modelled
    depth: int  # number of blocks
    dim_head: int = 64  # width of one attention head
    heads: int = 8  # attention heads
    ff_mult: float = (
        4.0  # gated feed-forward hidden width = 2/3 * ff_mult * dim (same params as GELU)
    )
    text_dim: int = 384  # width of the text encoder's embeddings (MiniLM: 384, T5-base: 768)
    pooled_text: bool = False  # also add the mean caption embedding to every frame (global cue)
    # Frames per second of the codes, for the tempo clock (model/tempo.py); 0 = no clock.
    clock_frame_rate: float = 0.0
    key_cue: bool = False  # add the caption's key as a pitch-class vector (model/key_cue.py)

    def __post_init__(self) -> None:
        for name in (
            "num_tokens",
            "seq_len",
            "dim",
            "n_q",
            "depth",
            "dim_head",
            "heads",
            "text_dim",
        ):
            _positive_int(name, getattr(self, name))
        _require(isinstance(self.pooled_text, bool), "pooled_text", "a bool", self.pooled_text)
        _require(isinstance(self.key_cue, bool), "key_cue", "a bool", self.key_cue)
        ok = isinstance(self.ff_mult, (int, float)) and math.isfinite(self.ff_mult)
        _require(ok and self.ff_mult > 0, "ff_mult", "a positive number", self.ff_mult)
        rate = self.clock_frame_rate
        ok = isinstance(rate, (int, float)) and not isinstance(rate, bool) and math.isfinite(rate)
        _require(ok and rate >= 0, "clock_frame_rate", "a frame rate >= 0 (0 = no clock)", rate)

    @property
    def mask_id(self) -> int:
        return self.num_tokens

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, where: str) -> BackboneConfig:
        return _from_dict(cls, data, where=where)

    @classmethod
    def resolve(
        cls,
        config: BackboneConfig | None,
        given: dict[str, Any],
        *,
        defaults: dict[str, Any] | None = None,
        where: str,
    ) -> BackboneConfig:
        """The config of a network built as `Net(config)` or as `Net(field=..., ...)`.

        `defaults` are a network's own defaults for fields this class leaves required (the
        critic's n_q); every other default is the one declared on the fields above.
        """
        if config is not None:
            if given:
                raise TypeError(f"{where}: pass a BackboneConfig or keyword fields, not both")
            if not isinstance(config, cls):
                raise TypeError(f"{where}: expected a BackboneConfig, got {type(config).__name__}")
            return config
        return cls(**{**(defaults or {}), **given})

    @classmethod
    def signature(cls, **defaults: Any) -> inspect.Signature:
        """`(self, config=None, /, *, num_tokens, ..., pooled_text=False)` from the fields, with
        `defaults` for fields left required here; the keyword constructors show it to `help()`."""
        kw = inspect.Parameter.KEYWORD_ONLY
        params = [
            inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY),
            inspect.Parameter("config", inspect.Parameter.POSITIONAL_ONLY, default=None),
        ]
        for f in fields(cls):
            default = defaults.get(f.name, f.default)
            default = inspect.Parameter.empty if default is MISSING else default
            params.append(inspect.Parameter(f.name, kw, default=default, annotation=f.type))
        return inspect.Signature(params, return_annotation=None)


@dataclass(frozen=True)
class MaskGmtConfig:
    """Training and conditioning choices of `MaskGmt` (the networks carry their own configs)."""

    cond_drop_prob: float = 0.25  # chance to train a sample on the learned null text (for CFG)
    self_token_critic: bool = False  # critic as a head on the transformer (needs no `TokenCritic`)
    critic_loss_weight: float = 1.0  # weight of the critic's BCE in the total loss
    level_weights: tuple[float, ...] | None = None  # chance of training each level; None = uniform
    span_len: int = 1  # masked span length in frames (1 = token masking; MAGNeT uses spans of 3)
    prefix_prob: float = 0.0  # chance a sample sees a given prefix on all levels (continuation)
    text_encoder_name: str = "minilm"  # what the registered loader builds when `texts=` is used
    contrast_weight: float = 0.0  # weight of the caption contrast (model/contrast.py); 0 = off
    contrast_margin: float = 0.3  # nats/token the own caption must beat the counterfactual by
    contrast_min_share: float = 0.75  # contrasted clips hide at least this share of level 0

    def __post_init__(self) -> None:
        p = self.cond_drop_prob
        ok = isinstance(p, (int, float)) and not isinstance(p, bool) and 0.0 <= p < 1.0
        _require(ok, "cond_drop_prob", "a float in [0, 1)", p)
        _require(
            isinstance(self.self_token_critic, bool),
            "self_token_critic",
            "a bool",
            self.self_token_critic,
        )
        w = self.critic_loss_weight
        ok = isinstance(w, (int, float)) and math.isfinite(w) and w >= 0
        _require(ok, "critic_loss_weight", "a finite float >= 0", w)
        if self.level_weights is not None:
            lw = self.level_weights
            ok = all(isinstance(x, (int, float)) and math.isfinite(x) and x >= 0 for x in lw)
            _require(ok and sum(lw) > 0, "level_weights", "non-negative numbers, not all 0", lw)
            object.__setattr__(self, "level_weights", tuple(float(x) for x in lw))
        _positive_int("span_len", self.span_len)
        p = self.prefix_prob
        ok = isinstance(p, (int, float)) and not isinstance(p, bool) and 0.0 <= p <= 1.0
        _require(ok, "prefix_prob", "a float in [0, 1]", p)
        name = self.text_encoder_name
        _require(isinstance(name, str) and bool(name), "text_encoder_name", "a non-empty str", name)
        for field_name, low, high in (
            ("contrast_weight", 0.0, math.inf),
            ("contrast_margin", 0.0, math.inf),
            ("contrast_min_share", 0.0, 1.0),
        ):
            v = getattr(self, field_name)
            ok = isinstance(v, (int, float)) and not isinstance(v, bool) and low <= v <= high
            _require(ok and math.isfinite(v), field_name, f"a number in [{low}, {high}]", v)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if data["level_weights"] is not None:
            data["level_weights"] = list(data["level_weights"])
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, where: str) -> MaskGmtConfig:
        return _from_dict(cls, data, where=where)


def _from_dict(cls: type, data: Any, *, where: str) -> Any:
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a JSON object, got {type(data).__name__}")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(
            f"{where}: unknown keys {unknown}; known keys are {sorted(known)}. "
            "The folder was written by a different maskgmt version or edited by hand."
        )
    try:
        return cls(**data)
    except TypeError as err:  # a required key is missing
        raise ValueError(f"{where}: {err}") from None
