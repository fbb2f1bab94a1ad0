"""Which caption words a trained model listens to: a text gain per attribute; writes JSON.

The text information gain (`bench/text_gain.py`) swaps whole captions. This bench changes one
attribute of each caption at a time and keeps the rest of its words:

- mode: major and minor swapped, same tonic ("D minor" -> "D major");
- tonic: the key a tritone away, same mode ("D minor" -> "Ab minor");
- fifth: the key a fifth up, same mode ("D minor" -> "A minor"): one pitch class differs, where
  the parallel mode (above) changes three, so a model that hears the mode should gain more from
  "mode" than from "fifth";
- relative: the relative key ("D minor" -> "F major"): the same pitch classes;
- register: "high" and "low" swapped, "middle" -> "high";
- instrument: the lead instrument's names replaced by one of another family;
- tempo: slow or moderate -> fast at 150 BPM, fast -> slow at 64 BPM (words and number; the
  tempo clock gets the new BPM);
- shuffled: another clip's whole caption (the ordinary text gain, for scale).

For each clip it scores the teacher-forced cross-entropy of one codec level with the changed
caption minus with the true one, in nats per hidden token: "full" hides the whole level (the
first decoding step), "partial" a fixed half of it. About 0 means the model ignores that
attribute's words. Every figure has a 95% bootstrap interval over clips; mode is also split by
the clip's true mode.

    python bench/caption_gain.py --model src/maskgmt/pretrained/maskgmt-tiny \
        --cache TEST_CACHE [--clips 240] [--levels 0 1] [--out bench/results/caption_gain.json]

TEST_CACHE: `maskgmt prepare` of a corpus manifest (it needs the attribute columns) with the
model's codec. Clips are cropped to the model's training window from their first frame.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from maskgmt.data.attributes import INSTRUMENTS, PITCH_CLASSES  # noqa: E402
from maskgmt.data.cache import load_cache  # noqa: E402
from maskgmt.data.corpus.counterfactual import KEY_PATTERN, swap_mode  # noqa: E402
from maskgmt.data.dataset import CodesDataset  # noqa: E402
from maskgmt.eval.stats import estimate, mean_stat, resample_weights  # noqa: E402
from maskgmt.model import MaskGmt  # noqa: E402
from maskgmt.model.diagnostics import fixed_share_mask  # noqa: E402
from maskgmt.train.data import fixed_batch  # noqa: E402

RESULTS = Path(__file__).parent / "results"
_FLAT_OF = {"C#": "Db", "D#": "Eb", "F#": "Gb", "G#": "Ab", "A#": "Bb"}
_SHARP_OF = {v: k for k, v in _FLAT_OF.items()}
_TEMPO_WORDS = {
    "slow": ("slow, unhurried", "slow"),
    "moderate": ("moderate-tempo", "moderately paced", "moderate"),
    "fast": ("brisk, fast", "fast"),
}
_NEW_TEMPO = {"slow": ("fast", 150.0), "moderate": ("fast", 150.0), "fast": ("slow", 64.0)}


def other_mode(caption: str, row: Mapping[str, Any]) -> tuple[str, float]:
    """Major and minor swapped (the training contrast's rewrite); -> (caption, bpm)."""
    return swap_mode(caption) or caption, float(row["tempo_bpm"])


def _pitch_class(name: str) -> int:
    """'Db' or 'C#' -> 1."""
    for spelling in (name, _SHARP_OF.get(name, name), _FLAT_OF.get(name, name)):
        if spelling in PITCH_CLASSES:
            return PITCH_CLASSES.index(spelling)
    raise ValueError(f"not a pitch class: {name!r}")


def _moved_key(semitones: int, swap_mode: bool) -> Callable[[str, Mapping[str, Any]], tuple]:
    """A rewrite moving the caption's tonic by `semitones` (and swapping the mode)."""
    swap = {"major": "minor", "minor": "major"}

    def rewrite(caption: str, row: Mapping[str, Any]) -> tuple[str, float]:
        def move(m: re.Match) -> str:
            mode = swap[m[2]] if swap_mode else m[2]
            shift = semitones if not swap_mode else (3 if m[2] == "minor" else -3)
            return f"{PITCH_CLASSES[(_pitch_class(m[1]) + shift) % 12]} {mode}"

        return KEY_PATTERN.sub(move, caption), float(row["tempo_bpm"])

    return rewrite


# The tonic a tritone away (shares 2 of 7 pitch classes) and a fifth up (6 of 7), same mode.
other_tonic = _moved_key(6, swap_mode=False)
fifth_up = _moved_key(7, swap_mode=False)
# The relative key (D minor <-> F major): the same 7 pitch classes, another tonic and mode.
relative = _moved_key(0, swap_mode=True)


def other_register(caption: str, row: Mapping[str, Any]) -> tuple[str, float]:
    """The register word changed (high <-> low, middle -> high); -> (caption, bpm)."""
    new = {"high": "low", "low": "high", "middle": "high"}[str(row["register"])]
    return re.sub(rf"\b{row['register']}\b", new, caption), float(row["tempo_bpm"])


def other_instrument(caption: str, row: Mapping[str, Any]) -> tuple[str, float]:
    """The lead instrument's names replaced by another family's instrument; -> (caption, bpm)."""
    mine = INSTRUMENTS[str(row["instrument"])]
    others = sorted(k for k, v in INSTRUMENTS.items() if v.family != mine.family)
    pick = INSTRUMENTS[random.Random(str(row["id"])).choice(others)].names[0]
    for name in sorted(mine.names, key=len, reverse=True):
        caption = re.sub(rf"\b{re.escape(name)}\b", pick, caption)
    return caption, float(row["tempo_bpm"])


def other_tempo(caption: str, row: Mapping[str, Any]) -> tuple[str, float]:
    """Slow/moderate -> fast at 150 BPM, fast -> slow at 64; -> (caption, new bpm)."""
    word = str(row["tempo_word"])
    new_word, new_bpm = _NEW_TEMPO[word]
    for phrase in _TEMPO_WORDS[word]:
        caption = re.sub(rf"\b{re.escape(phrase)}\b", new_word, caption)
    caption = re.sub(r"\b\d+(\.\d+)? BPM\b", f"{round(new_bpm)} BPM", caption)
    return caption, new_bpm


REWRITES: dict[str, Callable[[str, Mapping[str, Any]], tuple[str, float]]] = {
    "mode": other_mode,
    "tonic": other_tonic,
    "fifth": fifth_up,
    "relative": relative,
    "register": other_register,
    "instrument": other_instrument,
    "tempo": other_tempo,
}


def clip_losses(model, codes, texts, bpm, offset, level, hide, padding) -> np.ndarray:
    """Mean cross-entropy per clip [B] of the hidden real tokens of `level`."""
    emb, mask = model.encode_text(texts, None, None, batch=len(texts))
    with torch.inference_mode():
        logits = model.logits(
            codes, level, text_embeds=emb, text_mask=mask, padding_mask=padding,
            token_mask=hide, bpm=bpm, frame_offset=offset,
        )  # fmt: skip
    ce = F.cross_entropy(logits.float().transpose(1, 2), codes[:, level], reduction="none")
    scored = (hide & padding).float()
    return ((ce * scored).sum(1) / scored.sum(1).clamp(min=1)).numpy()


def measure(model, items, rows, meta, levels, batch: int, seed: int) -> dict[str, np.ndarray]:
    """Per (level, condition, caption variant) the per-clip losses, keys 'L{q}/{cond}/{name}'."""
    out: dict[str, list] = {}
    gen = torch.Generator().manual_seed(seed)
    for b in range(0, len(rows), batch):
        part = fixed_batch(items, rows[b : b + batch])
        codes, padding = part["codes"], part["padding_mask"]
        texts, bpm = list(part["texts"]), part["bpm"]
        offset = part["frame_offset"]
        variants = {"true": (texts, bpm)}
        perm = np.roll(np.arange(len(texts)), 1)
        variants["shuffled"] = ([texts[i] for i in perm], bpm[torch.as_tensor(perm)])
        for name, rewrite in REWRITES.items():
            pairs = [rewrite(t, meta[r]) for t, r in zip(texts, rows[b : b + batch], strict=True)]
            variants[name] = ([p[0] for p in pairs], torch.tensor([p[1] for p in pairs]))
        hides = {"full": padding.clone(), "partial": fixed_share_mask(padding, 0.5, generator=gen)}
        for q in levels:
            for cond, hide in hides.items():
                for name, (t, bp) in variants.items():
                    key = f"L{q}/{cond}/{name}"
                    out.setdefault(key, []).append(
                        clip_losses(model, codes, t, bp, offset, q, hide, padding)
                    )
        print(f"{min(b + batch, len(rows))}/{len(rows)} clips", flush=True)
    return {k: np.concatenate(v) for k, v in out.items()}


def summarise(losses: dict[str, np.ndarray], minor: np.ndarray) -> dict[str, Any]:
    """Gains (variant - true) with 95% intervals, per level and condition."""
    report: dict[str, Any] = {}
    for key, values in losses.items():
        q, cond, name = key.split("/")
        if name == "true":
            continue
        gain = values - losses[f"{q}/{cond}/true"]
        cell = {"gain": _ci(gain)}
        if name == "mode":
            cell["minor_clips"] = _ci(gain[minor])
            cell["major_clips"] = _ci(gain[~minor])
        report.setdefault(q, {}).setdefault(cond, {})[name] = cell
        report[q][cond]["loss_true"] = float(losses[f"{q}/{cond}/true"].mean())
    return report


def _ci(values: np.ndarray) -> list[float]:
    point, low, high = estimate(mean_stat(values), resample_weights(len(values)))
    return [round(float(point), 4), round(float(low), 4), round(float(high), 4)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--cache", required=True, help="token cache of a corpus manifest")
    parser.add_argument("--clips", type=int, default=240)
    parser.add_argument("--levels", type=int, nargs="+", default=[0])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS / "caption_gain.json")
    args = parser.parse_args()

    started = time.perf_counter()
    model = MaskGmt.from_pretrained(args.model).float().eval()
    dataset, _ = load_cache(args.cache)
    seq_len = model.metadata.get("train", {}).get("seq_len") or model.transformer.config.seq_len
    items = CodesDataset(dataset, seq_len=seq_len, random_crop=False)
    rows = list(range(min(args.clips, len(dataset))))
    columns = ("id", "instrument", "tempo_word", "tempo_bpm", "register", "mode")
    meta = dataset.select_columns(list(columns)).to_list()
    losses = measure(model, items, rows, meta, args.levels, args.batch, args.seed)
    minor = np.array([meta[r]["mode"] == "minor" for r in rows])
    report = {
        "model": str(Path(args.model).resolve()),
        "cache": str(Path(args.cache).resolve()),
        "clips": len(rows),
        "minor_clips": int(minor.sum()),
        "frames": seq_len,
        "seconds": round(time.perf_counter() - started, 1),
        "levels": summarise(losses, minor),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    for q, conds in report["levels"].items():
        for cond, cells in conds.items():
            gains = ", ".join(
                f"{n} {c['gain'][0]:+.3f}" for n, c in cells.items() if n != "loss_true"
            )
            print(f"{q} {cond}: {gains}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
