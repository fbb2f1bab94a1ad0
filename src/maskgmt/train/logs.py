"""Run logs (main process only): TensorBoard scalars, audio, spectrograms; train_result.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from maskgmt.data.cache import atomic_write_text


class LevelMeter:
    """Sums of per-level loss, accuracy and token counts over a window of steps.

    Per-level means are token-weighted: a level trained on 10x more tokens weighs 10x more.
    """

    def __init__(self, num_levels: int, *, device: torch.device) -> None:
        self.totals = torch.zeros(3, num_levels, dtype=torch.float64, device=device)

    def add(
        self, level_loss: torch.Tensor, level_acc: torch.Tensor, level_count: torch.Tensor
    ) -> None:
        """Add one batch's [K] loss/acc means and [K] masked-token counts."""
        n = level_count.detach().to(torch.float64)
        self.totals[0] += level_loss.detach().to(torch.float64) * n
        self.totals[1] += level_acc.detach().to(torch.float64) * n
        self.totals[2] += n

    def means(self, totals: torch.Tensor | None = None) -> dict[str, list[float | None]]:
        """{"loss": [K], "acc": [K], "count": [K]}; None where a level got no tokens.
        `totals` lets the caller pass sums reduced across processes."""
        t = (self.totals if totals is None else totals).cpu()
        count = t[2]
        per = {
            name: [float(v / c) if c > 0 else None for v, c in zip(t[i], count, strict=True)]
            for i, name in ((0, "loss"), (1, "acc"))
        }
        per["count"] = [float(c) for c in count]
        return per

    @staticmethod
    def overall(means: dict[str, list[float | None]]) -> float | None:
        """Token-weighted loss over all levels."""
        pairs = [
            (m, c) for m, c in zip(means["loss"], means["count"], strict=True) if m is not None
        ]
        total = sum(c for _, c in pairs)
        return sum(m * c for m, c in pairs) / total if total else None

    def reset(self) -> None:
        self.totals.zero_()


class RunLog:
    """A TensorBoard `SummaryWriter` under RUN_DIR/tensorboard, or a no-op off the main process."""

    def __init__(self, log_dir: Path | None) -> None:
        self.writer = None
        if log_dir is not None:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(log_dir=str(log_dir))

    def levels(self, split: str, means: dict[str, list[float | None]], step: int) -> None:
        """`{split}/loss_level{q}`, `{split}/acc_level{q}` and the token-weighted `{split}/loss`."""
        if self.writer is None:
            return
        for name in ("loss", "acc"):
            for q, value in enumerate(means[name]):
                if value is not None:
                    self.writer.add_scalar(f"{split}/{name}_level{q}", value, step)
        overall = LevelMeter.overall(means)
        if overall is not None:
            self.writer.add_scalar(f"{split}/loss", overall, step)

    def text_gain(self, gain: dict[str, Any], step: int) -> None:
        """`text_gain/{full,partial}/level{q}`: nats per token the true caption saves over a
        shuffled one (`maskgmt.model.diagnostics.text_information_gain`'s result)."""
        if self.writer is None:
            return
        for condition in ("full", "partial"):
            for q, value in enumerate((gain.get(condition) or {}).get("gain", [])):
                if value is not None:
                    self.writer.add_scalar(f"text_gain/{condition}/level{q}", value, step)
        if gain.get("seconds") is not None:
            self.writer.add_scalar("text_gain/seconds", gain["seconds"], step)

    def scalar(self, tag: str, value: float, step: int) -> None:
        if self.writer is not None:
            self.writer.add_scalar(tag, value, step)

    def sample(self, tag: str, wav: torch.Tensor, sample_rate: int, step: int) -> None:
        """One generated clip wav[C, S] as audio (mono mix) and a log-mel-ish spectrogram image."""
        if self.writer is None:
            return
        mono = wav.detach().float().mean(dim=0).cpu()  # (S,)
        self.writer.add_audio(f"{tag}/audio", mono.clamp(-1, 1), step, sample_rate=sample_rate)
        self.writer.add_figure(f"{tag}/spectrogram", _spectrogram_figure(mono, sample_rate), step)

    def text(self, tag: str, text: str, step: int) -> None:
        if self.writer is not None:
            self.writer.add_text(tag, text, step)

    def flush(self) -> None:
        if self.writer is not None:
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def text_gain_record(step: int, gain: dict[str, Any]) -> dict[str, Any]:
    """One `text_gain` history entry of train_result.json from a text-gain result.

    -> {"step", "share", "clips", "differing", "reason", "seconds", "full": [K] gains,
        "partial": [K] gains, "full_loss": {"true": [K], "shuffled": [K]}, "partial_loss": {...}}
        (None where a level or the condition was not measured).
    """
    record: dict[str, Any] = {"step": step}
    record.update({k: gain.get(k) for k in ("share", "clips", "differing", "reason", "seconds")})
    for condition in ("full", "partial"):
        part = gain.get(condition)
        record[condition] = part["gain"] if part else None
        record[f"{condition}_loss"] = (
            {"true": part["loss_true"], "shuffled": part["loss_shuffled"]} if part else None
        )
    return record


class TrainResultFile:
    """RUN/train_result.json: what `TrainResult` holds, rewritten at every validation.

    On resume, the loss and text-gain history entries of the earlier calls up to the resumed
    step are kept, so the file covers the whole run; `path=None` (other processes) writes nothing.
    """

    def __init__(self, path: Path | None, *, resumed_at: int | None = None) -> None:
        self.path = path
        self.earlier: dict[str, list[dict[str, Any]]] = {"history": [], "text_gain": []}
        if path is None or resumed_at is None or not path.is_file():
            return
        try:
            old = json.loads(path.read_text())
        except (OSError, ValueError):
            return  # an unreadable file from before only loses the earlier history
        for key in self.earlier:
            self.earlier[key] = [e for e in old.get(key) or [] if e.get("step", 0) <= resumed_at]

    def write(self, fields: dict[str, Any]) -> None:
        """Write `fields` (JSON-able), with "history" and "text_gain" after the earlier ones."""
        if self.path is None:
            return
        data = dict(fields)
        for key, earlier in self.earlier.items():
            data[key] = earlier + list(data.get(key) or [])
        atomic_write_text(self.path, json.dumps(data, indent=2) + "\n")


def _spectrogram_figure(mono: torch.Tensor, sample_rate: int):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_fft = 1024 if mono.numel() >= 1024 else max(16, 2 ** int(np.log2(max(mono.numel(), 16))))
    spec = torch.stft(
        mono,
        n_fft=n_fft,
        hop_length=n_fft // 4,
        window=torch.hann_window(n_fft),
        return_complex=True,
    ).abs()  # (F, frames)
    db = 20 * torch.log10(spec.clamp(min=1e-5))
    fig, ax = plt.subplots(figsize=(6, 3))
    seconds = mono.numel() / sample_rate
    ax.imshow(
        db.numpy(),
        origin="lower",
        aspect="auto",
        extent=(0, seconds, 0, sample_rate / 2000),
        vmin=float(db.max()) - 80,
        cmap="magma",
    )
    ax.set_xlabel("time (s)")
    ax.set_ylabel("frequency (kHz)")
    fig.tight_layout()
    return fig
