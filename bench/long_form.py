"""Long-form outputs for `maskgmt eval --audio-dir`: one long clip per held-out caption.

Generates rows [start, end) of a split, each `--seconds` long (a first window, then windows
that continue it), and writes `<stem of the row's audio>.wav`, the name `eval --audio-dir` looks
for. Run it in two processes on two cores (two ranges, one folder), then score the folder:

    python bench/long_form.py --split test.jsonl --out long/audio --start 0 --end 100 &
    python bench/long_form.py --split test.jsonl --out long/audio --start 100 --end 200
    maskgmt eval --audio-dir long/audio --split test.jsonl --limit 200 --window-seconds 3 ...
"""

from __future__ import annotations

import argparse
from pathlib import Path

import soundfile as sf
import torch
from tqdm import tqdm

from maskgmt.eval.manifest import read_split
from maskgmt.pipeline import TextToMusic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model folder (default: the shipped one)")
    parser.add_argument("--split", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--end", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pipe = TextToMusic.from_pretrained(args.model)
    rows = read_split(args.split)[args.start : args.end]
    for i in tqdm(range(0, len(rows), args.batch_size), desc="long-form", mininterval=30):
        batch = rows[i : i + args.batch_size]
        paths = [out / f"{Path(r['audio']).stem}.wav" for r in batch]
        if all(p.exists() for p in paths):
            continue  # resumable
        wav = pipe.generate([r["text"] for r in batch], seconds=args.seconds, seed=args.start + i)
        for path, clip in zip(paths, wav, strict=True):
            sf.write(str(path), clip[0].numpy(), pipe.sample_rate)


if __name__ == "__main__":
    main()
