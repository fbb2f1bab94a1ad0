"""The tempo clock: a caption's tempo as a beat-phase signal added to every frame.

Cross-attention gives the model a caption's tempo only as text ("slow", "96 BPM"), and a model
that must infer a beat period from a word writes notes with no steady beat (tempo accuracy at
chance, docs/QUALITY.md). The clock hands it the period directly: for a tempo of `bpm` quarter
notes per minute, frame t of a clip sits at beat phase

    phase(t) = (frame_offset + t) * bpm / (60 * frame_rate)

and each frame gets sin/cos of 2 pi m phase for a few beat multiples m (half notes to 16ths and
triplets) plus a code of log-tempo. A clip starts on a beat (the corpus starts every clip on a
note), so phase 0 is a beat; `frame_offset` keeps the phase running across crops and
continuation windows. A missing tempo gives all-zero features: the model without a clock.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import torch

# Beat multiples the phase features run at: a half note, the beat, eighths, triplets, 16ths.
BEAT_MULTIPLES = (0.5, 1.0, 2.0, 3.0, 4.0)
# Periods (in octaves of tempo) of the log-tempo code.
TEMPO_OCTAVES = (4.0, 2.0, 1.0)
NUM_FEATURES = 2 * len(BEAT_MULTIPLES) + 2 * len(TEMPO_OCTAVES)
MIN_BPM, MAX_BPM = 20.0, 400.0  # a stated tempo outside this is not read as one

# A tempo word without a number: the middle of the corpus's band for that word (corpus
# arrange.TEMPO_BANDS), and the usual Italian terms at the same three tempos.
TEMPO_WORD_BPM = {
    "slow": 64.0, "unhurried": 64.0, "largo": 64.0, "lento": 64.0, "adagio": 64.0,
    "moderate": 99.0, "moderately": 99.0, "andante": 99.0, "moderato": 99.0, "medium-tempo": 99.0,
    "fast": 150.0, "brisk": 150.0, "quick": 150.0, "allegro": 150.0, "presto": 150.0,
    "vivace": 150.0, "upbeat": 150.0,
}  # fmt: skip
_BPM_RE = re.compile(r"(\d{2,3}(?:\.\d+)?)\s*(?:bpm\b|beats per minute)", re.IGNORECASE)
_WORD_RE = re.compile(r"[a-z]+(?:-[a-z]+)?")


def caption_bpm(text: str) -> float | None:
    """The tempo a caption asks for, in quarter notes per minute, or None if it names none.

    A number ("96 BPM", "96 beats per minute") wins over a word; a word ("slow", "allegro",
    "moderate-tempo") gives the middle of its band. A caption naming two tempo words or two
    numbers that disagree gives the first.
    """
    for match in _BPM_RE.finditer(text):
        bpm = float(match.group(1))
        if MIN_BPM <= bpm <= MAX_BPM:
            return bpm
    for word in _WORD_RE.findall(text.lower()):
        head = word.split("-")[0] if word not in TEMPO_WORD_BPM else word
        if head in TEMPO_WORD_BPM:
            return TEMPO_WORD_BPM[head]
    return None


def captions_bpm(texts: Sequence[str], device: torch.device | str = "cpu") -> torch.Tensor:
    """B captions -> bpm float32 [B], NaN where a caption names no tempo."""
    values = [caption_bpm(t) for t in texts]
    return torch.tensor([math.nan if v is None else v for v in values], device=device)


def clock_features(
    bpm: torch.Tensor, frame_offset: torch.Tensor, num_frames: int, frame_rate: float
) -> torch.Tensor:
    """bpm[B] float (NaN or <= 0: no tempo), frame_offset[B] long -> features [B, T, F] float32.

    F = NUM_FEATURES. Rows without a tempo are all zero.
    """
    bpm = bpm.float()
    known = torch.isfinite(bpm) & (bpm > 0)  # (B,)
    safe = torch.where(known, bpm, torch.full_like(bpm, 100.0))
    frames = frame_offset.double()[:, None] + torch.arange(num_frames, device=bpm.device)
    phase = frames * (safe.double() / (60.0 * frame_rate))[:, None]  # (B, T) beats
    multiples = torch.tensor(BEAT_MULTIPLES, device=bpm.device, dtype=torch.float64)
    angle = (2 * math.pi * phase[..., None] * multiples).remainder(2 * math.pi).float()
    octaves = torch.log2(safe / 100.0)[:, None] / torch.tensor(TEMPO_OCTAVES, device=bpm.device)
    code = (2 * math.pi * octaves)[:, None, :].expand(-1, num_frames, -1)  # (B, T, n)
    feats = torch.cat([angle.sin(), angle.cos(), code.sin(), code.cos()], dim=-1)
    return feats * known[:, None, None].float()
