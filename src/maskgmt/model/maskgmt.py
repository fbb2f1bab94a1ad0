"""`MaskGmt`: text conditioning, the masked training loss, generate and save entry points."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from maskgmt.model import checks
from maskgmt.model.config import MaskGmtConfig
from maskgmt.model.contrast import ContrastBatch, caption_contrast
from maskgmt.model.critic import TokenCritic, check_critic, critic_loss
from maskgmt.model.cues import cue_inputs, drop_for_guidance
from maskgmt.model.generate import GenerateMixin
from maskgmt.model.loss import MaskGmtLoss
from maskgmt.model.masking import (
    hide_codes,
    sample_levels,
    sample_prefix,
    sample_training_mask,
)
from maskgmt.model.persistence import load_pretrained, push_to_hub, save_pretrained
from maskgmt.model.text_loader import load_registered_text_encoder
from maskgmt.model.transformer import MaskGmtTransformer


class MaskGmt(GenerateMixin, nn.Module):
    """Text-conditioned masked generative transformer over codes[B, K, T], level by level.

    The text encoder (if any) is frozen and kept outside module registration: it is neither in
    `parameters()` nor in the saved state dict.
    """

    def __init__(
        self,
        *,
        transformer: MaskGmtTransformer,
        cond_drop_prob: float = 0.25,
        token_critic: TokenCritic | None = None,
        self_token_critic: bool = False,
        critic_loss_weight: float = 1.0,
        text_encoder: Any | None = None,
        text_encoder_name: str = "minilm",
        level_weights: Sequence[float] | None = None,
        span_len: int = 1,
        prefix_prob: float = 0.0,
        contrast_weight: float = 0.0,
        contrast_margin: float = 0.3,
        contrast_min_share: float = 0.75,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(transformer, MaskGmtTransformer):
            raise ValueError(
                f"transformer: expected a MaskGmtTransformer, got {type(transformer).__name__}"
            )
        self.config = MaskGmtConfig(
            cond_drop_prob=cond_drop_prob,
            self_token_critic=self_token_critic,
            critic_loss_weight=critic_loss_weight,
            level_weights=tuple(level_weights) if level_weights is not None else None,
            span_len=span_len,
            prefix_prob=prefix_prob,
            text_encoder_name=text_encoder_name,
            contrast_weight=contrast_weight,
            contrast_margin=contrast_margin,
            contrast_min_share=contrast_min_share,
        )
        tc = transformer.config
        checks.check_level_weights(self.config.level_weights, tc.n_q)
        self.transformer = transformer
        self.token_critic = check_critic(token_critic, tc, self_token_critic)
        self.self_critic_head = nn.Linear(tc.dim, 1) if self_token_critic else None
        self.metadata: dict[str, Any] = dict(metadata or {})
        weights = self.config.level_weights or (1.0,) * tc.n_q
        self.register_buffer("level_weights", torch.tensor(weights), persistent=False)
        # Stored in __dict__ so nn.Module never registers it (frozen, not saved, not optimized).
        self.__dict__["_text_encoder"] = None
        if text_encoder is not None:
            self.attach_text_encoder(text_encoder)

    # ---- properties ----------------------------------------------------------------------------

    @property
    def device(self) -> torch.device:
        return self.transformer.device

    @property
    def dtype(self) -> torch.dtype:
        return self.transformer.dtype

    @property
    def has_critic(self) -> bool:
        return self.token_critic is not None or self.self_critic_head is not None

    @property
    def text_encoder(self) -> Any | None:
        """The attached (or lazily loaded) text encoder, or None."""
        return self.__dict__["_text_encoder"]

    def attach_text_encoder(self, encoder: Any) -> None:
        """Use `encoder` (the `maskgmt.text` TextEncoder protocol) for `texts=`; dim = text_dim."""
        dim = getattr(encoder, "dim", None)
        if not callable(getattr(encoder, "encode", None)) or dim is None:
            raise ValueError(
                "text_encoder: expected an object with .dim and .encode(texts), "
                f"got {type(encoder).__name__}"
            )
        want = self.transformer.config.text_dim
        name = getattr(encoder, "name", type(encoder).__name__)
        if dim != want:
            raise ValueError(
                f"text_encoder: expected embeddings of width text_dim={want}, "
                f"got an encoder of dim {dim} ({name}); "
                "build the transformer with a matching text_dim"
            )
        self.__dict__["_text_encoder"] = encoder

    # ---- text ----------------------------------------------------------------------------------

    def encode_text(
        self,
        texts: Sequence[str] | None,
        text_embeds: torch.Tensor | None,
        text_mask: torch.Tensor | None,
        *,
        batch: int | None,
        names: tuple[str, str, str] = ("texts", "text_embeds", "text_mask"),
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Captions or embeddings -> (emb[B, L, text_dim], mask[B, L] bool) on the model device."""
        texts_name, emb_name, mask_name = names
        if texts is not None and text_embeds is not None:
            raise ValueError(
                f"{texts_name}: got both {texts_name} and {emb_name}; pass one of them"
            )
        if texts is None and text_embeds is None:
            raise ValueError(
                f"{texts_name}: expected captions ({texts_name}=) or {emb_name}= with {mask_name}="
            )
        if texts is not None:
            texts = checks.check_texts(texts_name, texts, batch)
            if self.text_encoder is None:
                self.attach_text_encoder(
                    load_registered_text_encoder(self.config.text_encoder_name)
                )
            with torch.no_grad():
                text_embeds, text_mask = self.text_encoder.encode(texts)
            emb_name, mask_name = (
                f"{emb_name} (from the text encoder)",
                f"{mask_name} (from the text encoder)",
            )
        checks.check_text_embeds(
            text_embeds, text_mask, text_dim=self.transformer.config.text_dim, batch=batch,
            emb_name=emb_name, mask_name=mask_name,
        )  # fmt: skip
        return text_embeds.to(self.device, self.dtype), text_mask.to(self.device)

    # ---- training ------------------------------------------------------------------------------

    def forward(
        self,
        music_ids: torch.Tensor,
        texts: Sequence[str] | None = None,
        *,
        text_embeds: torch.Tensor | None = None,
        text_mask: torch.Tensor | None = None,
        padding_mask: torch.Tensor | None = None,
        bpm: torch.Tensor | None = None,
        frame_offset: torch.Tensor | None = None,
        key: torch.Tensor | None = None,
        contrast: ContrastBatch | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Training loss (scalar) for codes[B, K, T]; see `compute_loss`."""
        return self.compute_loss(
            music_ids, texts, text_embeds=text_embeds, text_mask=text_mask,
            padding_mask=padding_mask, bpm=bpm, frame_offset=frame_offset, key=key,
            contrast=contrast, generator=generator,
        ).loss  # fmt: skip

    def compute_loss(
        self,
        music_ids: torch.Tensor,
        texts: Sequence[str] | None = None,
        *,
        text_embeds: torch.Tensor | None = None,
        text_mask: torch.Tensor | None = None,
        padding_mask: torch.Tensor | None = None,
        levels: torch.Tensor | None = None,
        token_mask: torch.Tensor | None = None,
        bpm: torch.Tensor | None = None,
        frame_offset: torch.Tensor | None = None,
        key: torch.Tensor | None = None,
        contrast: ContrastBatch | None = None,
        generator: torch.Generator | None = None,
    ) -> MaskGmtLoss:
        """Masked-token loss of one batch.

        music_ids: codes[B, K, T] long in [0, V). texts: B captions, or text_embeds[B, L, text_dim]
        with text_mask[B, L] bool. padding_mask[B, T] bool (True = real frame) removes frames past
        a clip's end from attention and loss. Each sample trains one level q: a cosine-scheduled
        share of level q is masked, levels < q stay visible, levels > q are masked entirely.
        levels[B] long and token_mask[B, T] bool (True = hidden) fix the draw, for evaluation.
        bpm[B] float (NaN = none), frame_offset[B] long and key[B] (0..23, NaN = none) feed a
        model's tempo clock and key cue (model/cues.py); by default bpm and key are read from
        `texts` and the offset is 0. contrast: the batch's counterfactual captions, for the
        caption contrast term when `config.contrast_weight` > 0 (model/contrast.py).
        """
        tc = self.transformer.config
        codes, frame_mask = checks.check_music_ids(
            "music_ids", music_ids, padding_mask, tc, self.device
        )
        b, k, t = codes.shape
        emb, tmask = self.encode_text(texts, text_embeds, text_mask, batch=b)
        cues = self._cues(bpm, frame_offset, key, texts, b)
        if self.training and self.config.cond_drop_prob > 0:
            tmask, cues = drop_for_guidance(
                tmask, cues, self.config.cond_drop_prob, generator=generator
            )
        if levels is None:
            level = sample_levels(b, self.level_weights, device=self.device, generator=generator)
        else:
            level = checks.check_levels(levels, b, tc.n_q, self.device)
        hide, given = self._training_mask(frame_mask, token_mask, generator)
        inputs = hide_codes(codes, level, hide, frame_mask, tc.mask_id, given)

        text = self.transformer.text_context(emb, tmask, cues)
        h = self.transformer.hidden(inputs, level, text, frame_mask)  # (B, T, D)
        target = codes.gather(1, level[:, None, None].expand(b, 1, t))[:, 0]  # (B, T)
        rows_b, rows_t = hide.nonzero(as_tuple=True)  # the N masked tokens
        token_level = level[rows_b]  # (N,)
        logits = self.transformer.logits_by_row(h[rows_b, rows_t], token_level)  # (N, V)
        token_target = target[rows_b, rows_t]
        ce = F.cross_entropy(logits.float(), token_target, reduction="none")  # (N,)
        critic = None
        if self.has_critic:
            critic = critic_loss(
                self, inputs=inputs, level=level, target=target, hide=hide,
                frame_mask=frame_mask, logits=logits, text=text, emb=emb, text_mask=tmask,
                generator=generator,
            )  # fmt: skip
        out = MaskGmtLoss.from_tokens(
            ce, logits, token_target, token_level, k, critic, self.config.critic_loss_weight
        )
        if contrast is not None and self.config.contrast_weight > 0:
            term = caption_contrast(self, codes, frame_mask, (emb, tmask, cues), contrast,
                                    generator=generator)  # fmt: skip
            out.loss = out.loss + self.config.contrast_weight * term.loss
            out.contrast_gap, out.contrast_clips = term.gap, term.clips
        return out

    def _training_mask(
        self,
        frame_mask: torch.Tensor,
        token_mask: torch.Tensor | None,
        generator: torch.Generator | None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """-> hide[B, T] bool (the trained level's masked tokens) and given[B, T] bool (a
        continuation sample's visible prefix, all levels) or None.

        A given token_mask[B, T] fixes `hide`; otherwise spans are drawn on the cosine schedule,
        after a prefix for a `prefix_prob` share of the samples (training mode only).
        """
        if token_mask is not None:
            return checks.check_token_mask(token_mask, frame_mask, need_hidden=True), None
        given = None
        if self.training and self.config.prefix_prob > 0:
            given = sample_prefix(frame_mask, self.config.prefix_prob, generator=generator)
        hide = sample_training_mask(
            frame_mask if given is None else frame_mask & ~given,
            span_len=self.config.span_len,
            generator=generator,
        )
        return hide, given

    def logits(
        self,
        music_ids: torch.Tensor,
        level: int,
        texts: Sequence[str] | None = None,
        *,
        text_embeds: torch.Tensor | None = None,
        text_mask: torch.Tensor | None = None,
        padding_mask: torch.Tensor | None = None,
        token_mask: torch.Tensor | None = None,
        bpm: torch.Tensor | None = None,
        frame_offset: torch.Tensor | None = None,
        key: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Logits [B, T, V] of codec level `level`, seeing levels below it and text, as in training.

        Levels above `level` are hidden; token_mask[B, T] bool (True = hidden) hides part of
        `level` itself (default: all of it). The text is never dropped here. bpm, frame_offset
        and key: as in `compute_loss`.
        """
        tc = self.transformer.config
        codes, frame_mask = checks.check_music_ids(
            "music_ids", music_ids, padding_mask, tc, self.device
        )
        b, _, t = codes.shape
        level = checks.check_level(level, tc.n_q)
        if token_mask is None:
            hide = torch.ones(b, t, dtype=torch.bool, device=self.device)
        else:
            hide = checks.check_token_mask(token_mask, frame_mask, need_hidden=False)
        emb, tmask = self.encode_text(texts, text_embeds, text_mask, batch=b)
        level_t = torch.full((b,), level, dtype=torch.long, device=self.device)
        cues = self._cues(bpm, frame_offset, key, texts, b)
        text = self.transformer.text_context(emb, tmask, cues)
        inputs = hide_codes(codes, level_t, hide, frame_mask, tc.mask_id)
        h = self.transformer.hidden(inputs, level_t, text, frame_mask)
        return self.transformer.level_logits(h, level)

    def _cues(
        self,
        bpm: Any,
        frame_offset: Any,
        key: Any,
        texts: Sequence[str] | None,
        batch: int,
    ) -> torch.Tensor | None:
        """cues[B, 3] (bpm, frame offset, key) for the tempo clock and key cue, or None for a
        model with neither (model/cues.py)."""
        if not self.transformer.backbone.uses_cues:
            return None
        return cue_inputs(bpm, frame_offset, key, texts, batch=batch, device=self.device)

    # ---- persistence -------------------------------------------------------------

    def save_pretrained(self, directory: str | Path) -> Path:
        """Write config.json + model.safetensors to `directory` -> the folder's Path."""
        return save_pretrained(self, directory)

    def push_to_hub(self, repo_id: str, *, private: bool = False, token: str | None = None) -> str:
        """Upload the `save_pretrained` files to the Hugging Face hub repo `repo_id` -> its URL."""
        return push_to_hub(self, repo_id, private=private, token=token)

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | Path,
        *,
        device: str | torch.device = "cpu",
        text_encoder: Any | None = None,
    ) -> MaskGmt:
        """Load a folder written by `save_pretrained` (or a hub repo id), in eval mode."""
        return load_pretrained(cls, name_or_path, device=device, text_encoder=text_encoder)
