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
from maskgmt.model.critic import TokenCritic
from maskgmt.model.cues import cue_inputs, drop_for_guidance
from maskgmt.model.generate import generate as _generate
from maskgmt.model.layers import TextContext
from maskgmt.model.loss import MaskGmtLoss
from maskgmt.model.masking import sample_levels, sample_prefix, sample_training_mask
from maskgmt.model.persistence import load_pretrained, push_to_hub, save_pretrained
from maskgmt.model.text_loader import load_registered_text_encoder
from maskgmt.model.transformer import MaskGmtTransformer


class MaskGmt(nn.Module):
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
        )
        tc = transformer.config
        if self.config.level_weights is not None and len(self.config.level_weights) != tc.n_q:
            raise ValueError(
                f"level_weights: expected {tc.n_q} weights (one per codec level), "
                f"got {len(self.config.level_weights)}"
            )
        if token_critic is not None:
            if not isinstance(token_critic, TokenCritic):
                raise ValueError(
                    "token_critic: expected a TokenCritic or None, "
                    f"got {type(token_critic).__name__}"
                )
            if self_token_critic:
                raise ValueError(
                    "token_critic: got a TokenCritic and self_token_critic=True; "
                    "use one critic, not both"
                )
            cc = token_critic.config
            for field in ("num_tokens", "n_q", "text_dim"):
                want = getattr(tc, field)
                if getattr(cc, field) != want:
                    raise ValueError(
                        f"token_critic: expected {field}={want} to match the transformer, "
                        f"got {field}={getattr(cc, field)}; build TokenCritic(..., {field}={want})"
                    )
            if cc.seq_len < tc.seq_len:
                raise ValueError(
                    f"token_critic: expected seq_len >= the transformer's {tc.seq_len}, "
                    f"got {cc.seq_len}"
                )
        self.transformer = transformer
        self.token_critic = token_critic
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
        return self.transformer.head_bias.device

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
        dtype = self.transformer.head_bias.dtype
        return text_embeds.to(self.device, dtype), text_mask.to(self.device)

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
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Training loss (scalar) for codes[B, K, T]; see `compute_loss`."""
        return self.compute_loss(
            music_ids, texts, text_embeds=text_embeds, text_mask=text_mask,
            padding_mask=padding_mask, bpm=bpm, frame_offset=frame_offset, key=key,
            generator=generator,
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
        `texts` and the offset is 0.
        """
        tc = self.transformer.config
        codes, frame_mask = self._check_codes(music_ids, padding_mask)
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
            level = self._check_levels(levels, b)
        given = None
        if token_mask is None:
            if self.training and self.config.prefix_prob > 0:
                given = sample_prefix(frame_mask, self.config.prefix_prob, generator=generator)
            hide = sample_training_mask(
                frame_mask if given is None else frame_mask & ~given,
                span_len=self.config.span_len,
                generator=generator,
            )
        else:
            checks.check_bool_mask("token_mask", token_mask, (b, t), "True = hidden token")
            hide = token_mask.to(self.device) & frame_mask
            if not bool(hide.any()):
                raise ValueError(
                    "token_mask: expected at least one hidden token on a real frame, got none"
                )
        inputs = self._hide(codes, level, hide, frame_mask, given)

        text = self.transformer.backbone.text_context(emb, tmask, cues)
        h = self.transformer.hidden(inputs, level, text, frame_mask)  # (B, T, D)
        target = codes.gather(1, level[:, None, None].expand(b, 1, t))[:, 0]  # (B, T)
        rows_b, rows_t = hide.nonzero(as_tuple=True)
        token_level = level[rows_b]  # (N,)
        h_masked = h[rows_b, rows_t]  # (N, D)
        logits = h_masked.new_empty(h_masked.shape[0], tc.num_tokens)
        for q in token_level.unique().tolist():
            sel = token_level == q
            logits[sel] = self.transformer.level_logits(h_masked[sel], q)
        token_target = target[rows_b, rows_t]
        ce = F.cross_entropy(logits.float(), token_target, reduction="none")  # (N,)
        loss = ce.mean()

        with torch.no_grad():
            count = torch.bincount(token_level, minlength=k)
            correct = (logits.argmax(-1) == token_target).float()
            denom = count.clamp(min=1).float()
            level_loss = (
                torch.zeros(k, device=self.device).index_add_(0, token_level, ce.detach()) / denom
            )
            level_acc = (
                torch.zeros(k, device=self.device).index_add_(0, token_level, correct) / denom
            )

        critic_loss = None
        if self.has_critic:
            critic_loss = self._critic_loss(
                inputs, level, target, hide, frame_mask, logits, text, emb, tmask, generator
            )
            loss = loss + self.config.critic_loss_weight * critic_loss
        return MaskGmtLoss(
            loss=loss,
            level_loss=level_loss,
            level_acc=level_acc,
            level_count=count,
            critic_loss=critic_loss,
        )

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
        codes, frame_mask = self._check_codes(music_ids, padding_mask)
        b, _, t = codes.shape
        if not (isinstance(level, int) and not isinstance(level, bool) and 0 <= level < tc.n_q):
            raise ValueError(f"level: expected an int in [0, {tc.n_q}), got {level!r}")
        if token_mask is None:
            hide = torch.ones(b, t, dtype=torch.bool, device=self.device)
        else:
            checks.check_bool_mask("token_mask", token_mask, (b, t), "True = hidden token")
            hide = token_mask.to(self.device)
        emb, tmask = self.encode_text(texts, text_embeds, text_mask, batch=b)
        level_t = torch.full((b,), level, dtype=torch.long, device=self.device)
        cues = self._cues(bpm, frame_offset, key, texts, b)
        text = self.transformer.backbone.text_context(emb, tmask, cues)
        inputs = self._hide(codes, level_t, hide, frame_mask)
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

    def _check_codes(
        self, music_ids: torch.Tensor, padding_mask: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Checked codes[B, K, T] long and frame mask [B, T] bool, both on the model's device."""
        tc = self.transformer.config
        checks.check_codes_shape("music_ids", music_ids, tc)
        b, k, t = music_ids.shape
        if padding_mask is None:
            frame_mask = torch.ones(b, t, dtype=torch.bool, device=self.device)
        else:
            checks.check_bool_mask("padding_mask", padding_mask, (b, t), "True = real frame")
            if not bool(padding_mask.any(dim=-1).all()):
                raise ValueError(
                    "padding_mask: expected at least one real (True) frame per clip, got none"
                )
            frame_mask = padding_mask.to(self.device)
        codes = music_ids.to(self.device).long()
        checks.check_code_values("music_ids", codes, tc, frame_mask[:, None, :].expand(b, k, t))
        return codes, frame_mask

    def _check_levels(self, levels: torch.Tensor, batch: int) -> torch.Tensor:
        n_q = self.transformer.config.n_q
        ok = isinstance(levels, torch.Tensor) and levels.shape == (batch,)
        ok = ok and not levels.dtype.is_floating_point and levels.dtype != torch.bool
        if not ok or int(levels.min()) < 0 or int(levels.max()) >= n_q:
            raise ValueError(
                f"levels: expected a LongTensor [{batch}] in [0, {n_q}), got {levels!r}"
            )
        return levels.to(self.device).long()

    def _hide(
        self,
        codes: torch.Tensor,
        level: torch.Tensor,
        hide: torch.Tensor,
        frame_mask: torch.Tensor,
        given: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """codes[B, K, T] -> model input: the mask id above level[B], on hide[B, T] of the level
        itself, and on padded frames (frame_mask[B, T] False). given[B, T] bool marks prompt
        frames whose every level stays visible (the prefix of a continuation sample)."""
        k = codes.shape[1]
        k_idx = torch.arange(k, device=codes.device)[None, :, None]
        above = k_idx > level[:, None, None]
        if given is not None:
            above = above & ~given[:, None, :]
        at_hidden = (k_idx == level[:, None, None]) & hide[:, None, :]
        return codes.masked_fill(
            above | at_hidden | ~frame_mask[:, None, :], self.transformer.config.mask_id
        )

    def _critic_loss(
        self,
        inputs: torch.Tensor,
        level: torch.Tensor,
        target: torch.Tensor,
        hide: torch.Tensor,
        frame_mask: torch.Tensor,
        logits: torch.Tensor,
        text: TextContext,
        emb: torch.Tensor,
        tmask: torch.Tensor,
        generator: torch.Generator | None,
    ) -> torch.Tensor:
        """BCE of the critic at telling the generator's sampled tokens (1) from real ones (0)."""
        k = inputs.shape[1]
        with torch.no_grad():
            probs = logits.detach().float().softmax(dim=-1)  # (N, V) at the hidden tokens
            sampled = torch.multinomial(probs, 1, generator=generator)[:, 0]
            filled = target.clone()
            filled[hide] = sampled
            fake = (filled != target).float()  # a sample equal to the real token counts as real
        at_level = torch.arange(k, device=self.device)[None, :, None] == level[:, None, None]
        critic_inputs = torch.where(at_level & frame_mask[:, None, :], filled[:, None, :], inputs)
        if self.token_critic is not None:
            critic_text = self.token_critic.backbone.text_context(emb, tmask)
            scores = self.token_critic(critic_inputs, level, critic_text, frame_mask)
        else:
            h = self.transformer.hidden(critic_inputs, level, text, frame_mask)
            scores = self.self_critic_head(h).squeeze(-1)
        return F.binary_cross_entropy_with_logits(scores[frame_mask].float(), fake[frame_mask])

    # ---- generation and persistence -------------------------------------------------------------

    generate = _generate  # generate(texts=None, *, text_embeds=..., steps=..., cond_scale=3.0, ...)

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
