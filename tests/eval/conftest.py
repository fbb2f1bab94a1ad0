"""Shared eval fixtures: a small rendered corpus with known attributes, and a stand-in model."""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

sys.path.insert(0, str(Path(__file__).parent))  # the `synth` helper module beside this file

from synth import render, write_midi  # noqa: E402

from maskgmt.data.attributes import INSTRUMENTS, register_word, tempo_word  # noqa: E402

# Four families, three test clips each (chance 25 %); tempo, register, key and mode vary
# independently of the instrument so no attribute can be read off another.
INSTRUMENT_CYCLE = ("piano", "violin", "flute", "square lead")
TEMPI = (66.0, 100.0, 144.0)
CENTRES = (50, 64, 79)  # low / middle / high melodies
KEYS = ((0, "major"), (9, "minor"), (7, "major"), (2, "minor"), (5, "major"), (4, "minor"))
SECONDS = 4.0
RENDER_SR = 16000  # the analysis rate: FluidSynth's cost grows with it


@dataclass(frozen=True)
class RenderedCorpus:
    root: Path
    train: Path  # train.jsonl
    test: Path  # test.jsonl
    test_rows: list[dict]


def _clip(i: int, split: str, folder: Path) -> dict:
    name = INSTRUMENT_CYCLE[i % 4]
    # Test and train cycle the other attributes differently, so the classifier cannot lean on them.
    shift = 0 if split == "test" else 1
    bpm = TEMPI[(i + shift) % 3]
    centre = CENTRES[(i // 4 + i + shift) % 3]
    tonic, mode = KEYS[(i + 2 * shift) % len(KEYS)]
    accompaniment = 32 if i % 3 == 1 else None  # acoustic bass under a third of the clips
    stem = f"{split}_{i:02d}"
    heard = write_midi(folder / f"{stem}.mid", program=INSTRUMENTS[name].program, tonic_pc=tonic,
               mode=mode, bpm=bpm, center_midi=centre, seconds=SECONDS,
               accompaniment_program=accompaniment)  # fmt: skip
    median = float(np.median(heard))
    names = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
    return {
        "audio": f"audio/{stem}.wav",
        "text": f"a {tempo_word(bpm)} {name} melody in {names[tonic]} {mode}, "
        f"{register_word(median)} register",
        "piece": stem,
        "instrument": name,
        "instrument_family": INSTRUMENTS[name].family,
        "tempo_bpm": bpm,
        "tempo_word": tempo_word(bpm),
        "register": register_word(median),
        "melody_median_pitch": median,
        "key": names[tonic],
        "mode": mode,
        "meter": "4/4",
        "duration": SECONDS,
    }


@pytest.fixture(scope="session")
def rendered(tmp_path_factory) -> RenderedCorpus:
    """12 test + 12 train FluidSynth renders (4 s each) with a corpus-style layout."""
    root = tmp_path_factory.mktemp("corpus")
    (root / "audio").mkdir()
    manifests = {}
    for split in ("train", "test"):
        rows = [_clip(i, split, root / "audio") for i in range(12)]
        manifests[split] = rows
        (root / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    # FluidSynth runs are subprocesses: two at a time use both cores.
    wavs = [root / r["audio"] for rows in manifests.values() for r in rows]
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(
            pool.map(
                lambda w: render(w.with_suffix(".mid"), w, sr=RENDER_SR, seconds=SECONDS), wavs
            )
        )
    return RenderedCorpus(root, root / "train.jsonl", root / "test.jsonl", manifests["test"])


@pytest.fixture(scope="session")
def corpus_rows(tmp_path_factory) -> list[dict]:
    """A dozen 4 s clips from the real corpus builder (all splits: estimators are not trained)."""
    from maskgmt.data.corpus import build_corpus

    root = tmp_path_factory.mktemp("built_corpus")
    build_corpus(root / "corpus", clips=12, seconds=4.0, seed=0, workers=2, progress=False,
                 cache_dir=root / "score_cache")  # fmt: skip
    rows = []
    for split in ("train", "valid", "test"):
        for line in (root / "corpus" / f"{split}.jsonl").read_text().splitlines():
            row = json.loads(line)
            row["audio"] = str(root / "corpus" / row["audio"])
            rows.append(row)
    assert len(rows) >= 10, "the corpus builder rendered fewer clips than asked"
    return rows


@pytest.fixture(scope="session")
def classifier(rendered, tmp_path_factory):
    """The instrument classifier as `maskgmt eval` makes it: train.jsonl found beside test.jsonl."""
    from maskgmt.eval.evaluate import load_or_train_classifier

    return load_or_train_classifier(
        rendered.test, save_to=tmp_path_factory.mktemp("clf"), progress=False
    )


class QuantisingCodec:
    """Stand-in codec: 8-bit sample quantisation, codes[B, 1, S] (lossy, like a real codec)."""

    def __init__(self, sample_rate: int):
        self.sample_rate, self.channels, self.frame_rate = sample_rate, 1, float(sample_rate)
        self.n_q, self.codebook_size = 1, 256

    def encode(self, wav: torch.Tensor, sample_rate: int) -> torch.Tensor:
        assert sample_rate == self.sample_rate and wav.dim() == 3
        return (wav.mean(dim=1, keepdim=True).clamp(-1, 1) * 127).round().long() + 128

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        return (codes.float() - 128) / 127

    def identity(self) -> dict:
        return {"kind": "quantising", "source": "test", "n_q": 1, "codebook_size": 256,
                "sample_rate": self.sample_rate, "frame_rate": self.frame_rate}  # fmt: skip


class OracleModel:
    """Stand-in text-to-music model that follows captions perfectly: it returns the real clip
    whose caption it was given. Records its calls so tests can check batching and seeds."""

    def __init__(self, rows: list[dict], root: Path):
        self.sample_rate = RENDER_SR
        self.codec = QuantisingCodec(RENDER_SR)
        self.by_text = {r["text"]: root / r["audio"] for r in rows}
        self.calls: list[tuple[list[str], float, int]] = []

    def generate(self, texts: list[str], *, seconds: float | None = None, seed: int | None = None):
        self.calls.append((list(texts), seconds, seed))
        n = int(round(seconds * self.sample_rate))
        out = torch.zeros(len(texts), 1, n)
        for b, t in enumerate(texts):
            x, _ = sf.read(str(self.by_text[t]), dtype="float32")
            out[b, 0, : min(n, x.size)] = torch.from_numpy(x[:n])
        return out


class DriftingModel(OracleModel):
    """Follows its caption for the first `window` seconds (the real clip), then drones: one held
    tone for the rest, as a model whose continuation windows lose the music would."""

    def __init__(self, rows: list[dict], root: Path, window: float):
        super().__init__(rows, root)
        self.window = window

    def generate(self, texts: list[str], *, seconds: float | None = None, seed: int | None = None):
        out = super().generate(texts, seconds=seconds, seed=seed)
        start = int(round(self.window * self.sample_rate))
        if start >= out.shape[-1]:
            return out
        t = torch.arange(out.shape[-1] - start) / self.sample_rate
        drone = sum(torch.sin(2 * torch.pi * h * 220.0 * t) / h for h in range(1, 6))
        out[:, 0, start:] = 0.2 * drone / drone.abs().max()
        return out


class CountingCodec(QuantisingCodec):
    """QuantisingCodec that counts encode calls and can claim another identity."""

    def __init__(self, sample_rate: int, name: str = "quantising"):
        super().__init__(sample_rate)
        self.name, self.encodes = name, 0

    def encode(self, wav: torch.Tensor, sample_rate: int) -> torch.Tensor:
        self.encodes += 1
        return super().encode(wav, sample_rate)

    def identity(self) -> dict:
        return {**super().identity(), "kind": self.name}
