"""Codec study: where does the spectral codec lose instrument, key and tempo?

Writes, for the first N clips of a split, the audio of several reconstructions and scores each
folder with `maskgmt eval --audio-dir` (same estimators, same instrument classifier):

- `phase_only`: Griffin-Lim of the exact (unquantised) magnitude: the cost of the phase alone;
- `levels_k`: the codec decoded from its first k levels (quantisation plus phase).

    python bench/codec_study.py --codec src/maskgmt/pretrained/maskgmt-tiny/codec \
        --split /work/ship/corpus/test.jsonl --limit 240 --out /work/exp/codec
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import soundfile as sf
import torch

from maskgmt.codecs.spectral import SpectralCodec
from maskgmt.eval.audio import read_head
from maskgmt.eval.evaluate import EvalConfig, evaluate_audio_dir, load_or_train_classifier
from maskgmt.eval.manifest import read_split


def _reconstructions(codec: SpectralCodec, wav: torch.Tensor, levels: list[int]) -> dict:
    """wav[1, 1, S] at the codec's rate -> {name: wav[S']} for every reconstruction."""
    out = {"phase_only": codec.waveform(codec.features(wav[:, 0]))[0]}
    codes = codec.encode(wav, codec.sample_rate)
    for k in levels:
        out[f"levels_{k}"] = codec.decode(codes, levels=k)[0, 0]
    return out


def _write_all(codec, rows, out: Path, levels: list[int], seconds: float) -> list[str]:
    """The first `seconds` of every row, rebuilt each way, as out/audio/<way>/<stem>.wav ->
    the names of the ways."""
    names: list[str] = []
    for row in rows:
        path = Path(row["audio"])
        data, sr = read_head(str(path), max_seconds=seconds)  # [C, S]
        wav = torch.from_numpy(data).mean(0)[None, None]  # [1, 1, S]
        if sr != codec.sample_rate:
            raise ValueError(f"{path}: {sr} Hz, the codec wants {codec.sample_rate} Hz")
        rebuilt = _reconstructions(codec, wav, levels)
        for name, clip in rebuilt.items():
            folder = out / "audio" / name
            folder.mkdir(parents=True, exist_ok=True)
            sf.write(str(folder / f"{path.stem}.wav"), clip.numpy(), codec.sample_rate)
        names = list(rebuilt)  # the same for every clip
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codec", required=True)
    parser.add_argument("--split", required=True)
    parser.add_argument("--limit", type=int, default=240)
    parser.add_argument("--levels", default="1,2,4,8")
    parser.add_argument("--seconds", type=float, default=3.0, help="head of each clip scored")
    parser.add_argument("--out", required=True)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    out, split = Path(args.out), Path(args.split)
    codec = SpectralCodec.load(args.codec)
    rows = read_split(split, limit=args.limit)
    levels = [int(k) for k in args.levels.split(",")]
    with torch.inference_mode():
        names = _write_all(codec, rows, out, levels, args.seconds)
    saved = out / "instrument_classifier"
    clf = load_or_train_classifier(split, saved=saved if saved.is_dir() else None,
                                   save_to=saved, progress=False)  # fmt: skip
    config = EvalConfig(limit=args.limit, progress=False, cache_dir=out / "cache")
    summary = {}
    for name in names:
        metrics = evaluate_audio_dir(out / "audio" / name, split, out_dir=out / "eval" / name,
                                     classifier=clf, config=config)  # fmt: skip
        summary[name] = metrics["accuracy"]
        print(name, flush=True)
        print((out / "eval" / name / "report.md").read_text(), flush=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=str))


if __name__ == "__main__":
    main()
