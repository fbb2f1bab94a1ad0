"""What decides a corpus build's content: CorpusConfig, validated at construction."""

from __future__ import annotations

import math
from dataclasses import dataclass

from maskgmt.data.corpus.catalog import SOURCES

SPLITS: tuple[str, str, str] = ("train", "valid", "test")


@dataclass(frozen=True, kw_only=True)
class CorpusConfig:
    """What decides a corpus's content; equal configs build byte-identical corpora."""

    clips: int  # clips to render (fewer only if scores run out or renders fail)
    seconds: float = 10.0  # length of every clip
    seed: int = 0
    sample_rate: int = 24_000  # Hz; clips are mono 16-bit WAV
    clips_per_piece: int = 4  # clips drawn from each score (in different arrangements)
    accompaniment_prob: float = 0.5  # chance a clip gets a bass line in a second instrument
    sources: tuple[str, ...] = tuple(SOURCES)  # which parts of the music21 corpus to use
    valid_fraction: float = 0.1  # of pieces (at least one piece once there are 3)
    test_fraction: float = 0.1  # of pieces (at least one piece once there are 2)

    def __post_init__(self) -> None:
        if not isinstance(self.clips, int) or self.clips < 1:
            raise ValueError(f"clips: expected a positive whole number, got {self.clips!r}")
        if not 0.5 <= self.seconds <= 120.0:
            raise ValueError(f"seconds: expected a clip length in [0.5, 120], got {self.seconds!r}")
        if not 8_000 <= self.sample_rate <= 96_000:
            raise ValueError(f"sample_rate: expected 8000..96000 Hz, got {self.sample_rate!r}")
        if self.clips_per_piece < 1:
            raise ValueError(f"clips_per_piece: expected >= 1, got {self.clips_per_piece!r}")
        if not 0.0 <= self.accompaniment_prob <= 1.0:
            raise ValueError(
                f"accompaniment_prob: expected [0, 1], got {self.accompaniment_prob!r}"
            )
        unknown = [s for s in self.sources if s not in SOURCES]
        if not self.sources or unknown:
            raise ValueError(
                f"sources: expected a non-empty subset of {sorted(SOURCES)}, "
                f"got {list(self.sources)}"
            )
        for name in ("valid_fraction", "test_fraction"):
            if not 0.0 <= getattr(self, name) < 0.5:
                raise ValueError(f"{name}: expected [0, 0.5), got {getattr(self, name)!r}")

    @property
    def n_pieces(self) -> int:
        """Scores to use: enough for clips_per_piece, and at least 3 so every split gets one."""
        return max(min(self.clips, 3), math.ceil(self.clips / self.clips_per_piece))
