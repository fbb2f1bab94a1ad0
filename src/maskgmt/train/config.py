"""Training config: validated dataclasses, the tiny/small/base presets, YAML overrides."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maskgmt.data.corpus.counterfactual import COUNTERFACTUALS
from maskgmt.model.config import BackboneConfig, MaskGmtConfig
from maskgmt.train.overrides import merge, yaml_problem

MIXED_PRECISION = ("auto", "no", "bf16", "fp16")


def _check(ok: bool, owner: str, name: str, expected: str, got: Any) -> None:
    if not ok:
        raise ValueError(f"{owner}.{name} must be {expected}, got {got!r}")


# --------------------------------------------------------------------------- sections


@dataclass(frozen=True, kw_only=True)
class ModelConfig:
    """Transformer sizes and training-time model options. `num_tokens`, `n_q` and `seq_len` are
    not here: they come from the token cache's codec and from `DataConfig.crop_seconds`."""

    dim: int = 512
    """D, the transformer width."""
    depth: int = 12
    """Number of transformer blocks."""
    heads: int = 8
    """Attention heads per block."""
    dim_head: int = 64
    """Width of one attention head."""
    ff_mult: float = 4.0
    """Feed-forward size as a multiple of `dim` (gated, so hidden = 2/3 * ff_mult * dim)."""
    cond_drop_prob: float = 0.25
    """Probability of dropping the caption during training (classifier-free guidance)."""
    span_len: int = 1
    """Masked span length in frames (1 = token masking; MAGNeT uses spans of 3)."""
    pooled_text: bool = False
    """Also add the caption's mean embedding to every frame, besides cross-attention."""
    tempo_clock: bool = False
    """Add a beat-phase clock at the caption's tempo to every frame (model/tempo.py); trained
    on the manifest's `tempo_bpm`, read from the caption ("96 BPM", "slow") at generation."""
    key_cue: bool = False
    """Add the key the caption names ("in D minor") as a pitch-class vector to every frame
    (model/key_cue.py)."""
    prefix_prob: float = 0.0
    """Share of samples trained as continuations: a prefix (10-70% of the crop) is given on every
    level and only the rest is masked, as `generate` sees in the windows after the first."""
    self_token_critic: bool = False
    """Train a self-critic head that later picks which tokens to re-mask during generation."""
    critic_loss_weight: float = 1.0
    """Weight of the critic loss in the total loss (used only with `self_token_critic`)."""
    level_weights: tuple[float, ...] = ()
    """How often each codec level is the trained one, relative: level q gets `level_weights[q]`,
    levels past the tuple's end get 1.0, so `()` is uniform and `(4.0,)` trains level 0 four
    times as often as each other level. Level 0 carries the music and is the hardest to predict;
    small budgets learn it faster with more of the batch on it."""
    contrast: str = ""
    """Caption contrast (model/contrast.py): the attribute whose counterfactual caption each clip
    must score worse under ("mode": "D minor" against "D major"; "" = off). Captions are then
    encoded during training, the counterfactual ones too."""
    contrast_weight: float = 1.0
    """Weight of the contrast term in the loss (with `contrast` set)."""
    contrast_margin: float = 0.3
    """Nats per hidden level-0 token by which the own caption must beat the counterfactual."""
    contrast_min_share: float = 0.75
    """Contrasted clips hide at least this share of level 0 (the first decoding steps)."""
    text_encoder: str = "minilm"
    """Name for `maskgmt.text.load_text_encoder` ("minilm" works offline; "t5-base" as in the
    paper). Ignored when the cache holds text embeddings (then the cache's encoder is used)."""

    def __post_init__(self) -> None:
        # The model's own dataclasses validate these fields (placeholders stand in for V, T, K
        # and the text width, which the cache and the crop give); a message names the YAML key.
        try:
            self.backbone(num_tokens=1, seq_len=1, n_q=1, text_dim=1)
            self.choices(n_q=max(1, len(self.level_weights)), text_encoder_name=self.text_encoder)
        except ValueError as e:
            problem = str(e).removeprefix("text_encoder_name:")
            key = "text_encoder:" if problem != str(e) else ""
            raise ValueError(f"model.{key}{problem}") from None
        if self.contrast and self.contrast not in COUNTERFACTUALS:
            raise ValueError(
                f"model.contrast must be one of {sorted(COUNTERFACTUALS)} or '' (off), "
                f"got {self.contrast!r}"
            )

    def backbone(
        self, *, num_tokens: int, seq_len: int, n_q: int, text_dim: int, frame_rate: float = 0.0
    ) -> BackboneConfig:
        """The transformer shape of this section, with V, T, K, the text width and the codec's
        frame rate (for the tempo clock) of the run."""
        return BackboneConfig(
            num_tokens=num_tokens,
            seq_len=seq_len,
            dim=self.dim,
            n_q=n_q,
            depth=self.depth,
            dim_head=self.dim_head,
            heads=self.heads,
            ff_mult=self.ff_mult,
            text_dim=text_dim,
            pooled_text=self.pooled_text,
            clock_frame_rate=float(frame_rate) if self.tempo_clock else 0.0,
            key_cue=self.key_cue,
        )

    def choices(self, *, n_q: int, text_encoder_name: str) -> MaskGmtConfig:
        """MaskGmt's training choices of this section, for K = n_q levels (the level weights
        spelled out, as `build.build_model` passes them)."""
        return MaskGmtConfig(
            cond_drop_prob=self.cond_drop_prob,
            self_token_critic=self.self_token_critic,
            critic_loss_weight=self.critic_loss_weight,
            level_weights=self.weights_for(n_q),
            span_len=self.span_len,
            prefix_prob=self.prefix_prob,
            text_encoder_name=text_encoder_name,
            contrast_weight=self.contrast_weight if self.contrast else 0.0,
            contrast_margin=self.contrast_margin,
            contrast_min_share=self.contrast_min_share,
        )

    def weights_for(self, n_q: int) -> tuple[float, ...]:
        """`level_weights` spelled out for K = n_q levels (missing ones are 1.0)."""
        return tuple(self.level_weights[:n_q]) + (1.0,) * max(0, n_q - len(self.level_weights))


@dataclass(frozen=True, kw_only=True)
class DataConfig:
    """How clips become batches."""

    crop_seconds: float = 10.0
    """Length of the random crop taken from each clip, in seconds; it also fixes the model's
    `seq_len` (frames = round(crop_seconds * codec frame_rate)). Shorter clips are padded."""
    batch_size: int = 8
    """Clips per batch on each process (the global batch is this x processes x grad_accum)."""
    val_fraction: float = 0.05
    """Share of the clips (at least one) held out for the validation loss."""
    max_val_clips: int = 256
    """Upper bound on the held-out clips, so validation stays cheap on big corpora."""
    num_workers: int = 0
    """DataLoader worker processes (0 = load in the training process)."""
    partial_captions: float = 0.0
    """Share of training items whose caption becomes a short one naming a random subset of the
    clip's attributes ("a slow cello melody, pitched high"), as users write them
    (`data/corpus/short_captions.py`). Needs a cache from a corpus manifest; captions are then
    encoded during training rather than read from the cache."""

    def __post_init__(self) -> None:
        o = "data"
        _check(self.crop_seconds > 0, o, "crop_seconds", "> 0 seconds", self.crop_seconds)
        _check(self.batch_size >= 1, o, "batch_size", "a positive integer", self.batch_size)
        _check(0.0 <= self.val_fraction < 1.0, o, "val_fraction", "in [0, 1)", self.val_fraction)
        _check(self.max_val_clips >= 0, o, "max_val_clips", ">= 0", self.max_val_clips)
        _check(self.num_workers >= 0, o, "num_workers", ">= 0", self.num_workers)
        p = self.partial_captions
        _check(0.0 <= p <= 1.0, o, "partial_captions", "a share in [0, 1]", p)


@dataclass(frozen=True, kw_only=True)
class OptimConfig:
    """AdamW, warmup + cosine learning-rate schedule, clipping, accumulation and EMA."""

    lr: float = 3e-4
    """Peak learning rate, reached at the end of warmup."""
    betas: tuple[float, float] = (0.9, 0.95)
    """AdamW (beta1, beta2)."""
    eps: float = 1e-8
    """AdamW epsilon."""
    weight_decay: float = 0.05
    """Decoupled weight decay for matrices; norms, embeddings and biases get none."""
    grad_clip: float = 1.0
    """Max global gradient norm (0 disables clipping)."""
    grad_accum_steps: int = 1
    """Micro-batches summed into one optimizer step."""
    warmup_steps: int = 500
    """Linear warmup length in optimizer steps."""
    max_steps: int = 100_000
    """Total optimizer steps; the cosine schedule ends here."""
    min_lr_ratio: float = 0.1
    """Learning rate at the end of the cosine, as a fraction of `lr`."""
    ema_decay: float = 0.0
    """Decay of the exponential moving average of the weights (0 disables EMA). When on, the
    final model folder holds the EMA weights."""

    def __post_init__(self) -> None:
        o = "optim"
        _check(self.lr > 0, o, "lr", "> 0", self.lr)
        _check(
            len(self.betas) == 2 and all(0.0 <= b < 1.0 for b in self.betas),
            o,
            "betas",
            "two numbers in [0, 1)",
            self.betas,
        )
        _check(self.eps > 0, o, "eps", "> 0", self.eps)
        _check(self.weight_decay >= 0, o, "weight_decay", ">= 0", self.weight_decay)
        _check(self.grad_clip >= 0, o, "grad_clip", ">= 0 (0 disables)", self.grad_clip)
        _check(self.grad_accum_steps >= 1, o, "grad_accum_steps", ">= 1", self.grad_accum_steps)
        _check(self.warmup_steps >= 0, o, "warmup_steps", ">= 0", self.warmup_steps)
        _check(self.max_steps >= 1, o, "max_steps", ">= 1", self.max_steps)
        _check(0.0 <= self.min_lr_ratio <= 1.0, o, "min_lr_ratio", "in [0, 1]", self.min_lr_ratio)
        _check(0.0 <= self.ema_decay < 1.0, o, "ema_decay", "in [0, 1) (0 = off)", self.ema_decay)


@dataclass(frozen=True, kw_only=True)
class LogConfig:
    """How often to log, validate, sample audio and checkpoint (all in optimizer steps)."""

    log_every: int = 50
    """Steps between TensorBoard scalar logs (loss/acc per level, LR, tokens/s)."""
    val_every: int = 1000
    """Steps between held-out validation losses (0 = only at the end)."""
    val_batches: int = 8
    """Batches of held-out clips per validation (each process)."""
    sample_every: int = 5000
    """Steps between audio samples + spectrograms for validation captions (0 = never; needs a
    codec that can be loaded)."""
    num_samples: int = 2
    """Validation captions rendered to audio at each sampling."""
    sample_steps: tuple[int, ...] = (12, 4, 2)
    """Unmasking iterations per level for the samples (last value repeats for higher levels)."""
    ckpt_every: int = 1000
    """Steps between checkpoints (a final one is always written)."""
    keep_last: int = 3
    """Checkpoints kept on disk; older ones are deleted after a new one is complete."""
    progress: bool = True
    """Show a tqdm bar on the main process."""

    def __post_init__(self) -> None:
        o = "log"
        _check(self.log_every >= 1, o, "log_every", ">= 1", self.log_every)
        for name in ("val_every", "val_batches", "sample_every", "num_samples"):
            _check(getattr(self, name) >= 0, o, name, ">= 0", getattr(self, name))
        _check(
            len(self.sample_steps) >= 1 and all(s >= 1 for s in self.sample_steps),
            o,
            "sample_steps",
            "a non-empty list of positive integers",
            self.sample_steps,
        )
        _check(self.ckpt_every >= 1, o, "ckpt_every", ">= 1", self.ckpt_every)
        _check(self.keep_last >= 1, o, "keep_last", ">= 1", self.keep_last)


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """Everything `maskgmt train` needs besides the data and output folders."""

    model: ModelConfig = field(default_factory=ModelConfig)
    """Transformer sizes."""
    data: DataConfig = field(default_factory=DataConfig)
    """Crops and batches."""
    optim: OptimConfig = field(default_factory=OptimConfig)
    """Optimizer, schedule and EMA."""
    log: LogConfig = field(default_factory=LogConfig)
    """Logging, validation, samples and checkpoints."""
    seed: int = 0
    """Seeds the weights, the data order, the crops and the masking."""
    mixed_precision: str = "auto"
    """"auto" (bf16 autocast on GPU, fp32 on CPU), "no", "bf16" or "fp16"."""

    def __post_init__(self) -> None:
        _check(0 <= self.seed < 2**32, "train", "seed", "in [0, 2**32 - 1]", self.seed)
        _check(
            self.mixed_precision in MIXED_PRECISION,
            "train",
            "mixed_precision",
            f"one of {MIXED_PRECISION}",
            self.mixed_precision,
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (tuples become lists), the form YAML and JSON files use."""
        return _jsonable(dataclasses.asdict(self))


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    return x


# --------------------------------------------------------------------------- presets

PRESETS: dict[str, TrainConfig] = {
    # CPU in minutes: a 3-block, 192-wide model (about 5 M parameters) on 3 s crops.
    "tiny": TrainConfig(
        model=ModelConfig(
            dim=192,
            depth=3,
            heads=4,
            dim_head=48,
            ff_mult=3.0,
            cond_drop_prob=0.2,
            level_weights=(4.0, 2.0),  # a few minutes of CPU: spend them mostly on level 0
            # Spans of 4 frames (53 ms) and a quarter of continuation samples: the level-0 text
            # gain at half masked rose from 0.15 to 0.75 nats/token, and a second window keeps
            # the first's note activity and adherence (docs/QUALITY.md).
            span_len=4,
            prefix_prob=0.25,
        ),  # fmt: skip
        data=DataConfig(crop_seconds=3.0, batch_size=8),
        optim=OptimConfig(lr=1e-3, warmup_steps=50, max_steps=2000, weight_decay=0.01),
        log=LogConfig(log_every=10, val_every=100, val_batches=4, sample_every=500, ckpt_every=200),
    ),
    # One consumer GPU, hours.
    "small": TrainConfig(
        model=ModelConfig(dim=384, depth=8, heads=6, dim_head=64),
        data=DataConfig(crop_seconds=10.0, batch_size=16),
        optim=OptimConfig(lr=5e-4, warmup_steps=1000, max_steps=50_000, ema_decay=0.999),
        log=LogConfig(log_every=50, val_every=1000, sample_every=5000, ckpt_every=2000),
    ),
    # The README sizes (dim 512, 8 heads of 64, ff x4, 10 s crops), 12 blocks: datacenter GPUs.
    "base": TrainConfig(
        model=ModelConfig(dim=512, depth=12, heads=8, dim_head=64),
        data=DataConfig(crop_seconds=10.0, batch_size=32),
        optim=OptimConfig(lr=3e-4, warmup_steps=2000, max_steps=200_000, ema_decay=0.9995),
        log=LogConfig(log_every=100, val_every=2000, sample_every=10_000, ckpt_every=5000),
    ),
}


def get_preset(name: str) -> TrainConfig:
    """The named preset (`tiny`, `small`, `base`)."""
    if name not in PRESETS:
        raise ValueError(f"preset must be one of {sorted(PRESETS)}, got {name!r}")
    return PRESETS[name]


# --------------------------------------------------------------------------- dict / YAML


def config_from_dict(
    overrides: dict[str, Any], *, base: TrainConfig | None = None, source: str = "config"
) -> TrainConfig:
    """`base` (default: `TrainConfig()`) with the nested `overrides` applied.

    Unknown keys and wrong types raise `ValueError` naming the dotted key and `source`.
    """
    base = base if base is not None else TrainConfig()
    try:
        return merge(base, overrides, prefix="", source=source)
    except ValueError as e:
        if str(e).startswith(f"{source}:"):
            raise
        raise ValueError(f"{source}: {e}") from None


def load_config(path: str | Path, *, base: TrainConfig | None = None) -> TrainConfig:
    """Read a YAML file of overrides (e.g. `optim: {lr: 1e-3}`) on top of `base`."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {str(path)!r} does not exist")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise ValueError(f"{path}: not valid YAML ({yaml_problem(e)})") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ValueError(
            f"{path}: expected a mapping of sections at the top, got {type(raw).__name__}"
        )
    return config_from_dict(raw, base=base, source=str(path))
