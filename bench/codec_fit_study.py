"""Codec fit study: does a better-fitted spectral codec keep more of the instrument identity?

The shipped codec runs k-means on 40 000 frames for 8 x 1024 codes (about 40 frames a code).
This fits variants on the same train audio (more frames, more Lloyd iterations, no mel
weighting, another seed), rebuilds the first `--seconds` of each test clip from all levels, and
scores every folder with `maskgmt eval --audio-dir` (the same estimators and instrument
classifier), plus each variant's quantisation error on the test frames. Then each variant minus
the first one, paired clip by clip (`decode_study.paired`). Writes JSON:

    python bench/codec_fit_study.py --train CORPUS/train.jsonl --test CORPUS/test.jsonl \
        --classifier EVAL/instrument_classifier --out WORK/codec_fit \
        --variant base='{}' --variant frames200k='{"max_frames": 200000}'

A variant is name=JSON: `{"load": FOLDER}` (a saved codec), or `max_frames`, `kmeans_iters`,
`seed` (fitting), `weight_power` (bins weighted by (700 Hz + f) ** -p), `levels` and `smooth`
(decode from the first levels only; average the frames over this many, triangular) and any
`SpectralCodecConfig` field (`mel_weighting`, `codebook_size`, `n_q`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import soundfile as sf
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from decode_study import paired  # noqa: E402
from maskgmt.audio import read_audio  # noqa: E402
from maskgmt.codecs.spectral import SpectralCodec  # noqa: E402
from maskgmt.codecs.spectral_config import SpectralCodecConfig  # noqa: E402
from maskgmt.codecs.spectral_fit import FitOptions, fit_codebooks  # noqa: E402
from maskgmt.eval.audio import read_head  # noqa: E402
from maskgmt.eval.evaluate import EvalConfig, evaluate_audio_dir  # noqa: E402
from maskgmt.eval.instrument import InstrumentClassifier  # noqa: E402
from maskgmt.eval.manifest import read_split  # noqa: E402

FIT_KEYS = ("max_frames", "kmeans_iters", "seed", "weight_power")  # the first three: FitOptions
SAMPLE_RATE = 24_000
DECODE_KEYS = ("smooth", "levels")


def _spread(rows: list[dict], n: int) -> list[dict]:
    """n rows evenly spread over the manifest (its order groups clips of one piece)."""
    step = max(1, len(rows) // n)
    return rows[::step][:n]


def _probe(config: SpectralCodecConfig, power: float | None) -> SpectralCodec:
    """A codec of `config` with placeholder codebooks: its `features` are what k-means fits."""
    shape = (config.n_q, config.codebook_size, config.num_bins)
    return _weighted(SpectralCodec(config=config, codebooks=torch.zeros(shape)), power)


def _weighted(codec: SpectralCodec, power: float | None) -> SpectralCodec:
    """The codec with its bins weighted by (700 Hz + f) ** -power (1: the mel density, 0: none,
    < 0: the high bins more); None keeps the config's weighting. A study-only override."""
    if power is not None:
        f = torch.linspace(0.0, codec.sample_rate / 2, codec.config.num_bins)
        w = (700.0 + f) ** -power
        codec._bin_scale = (w / w.mean()).sqrt()
    return codec


def _smooth(feats: torch.Tensor, width: int) -> torch.Tensor:
    """frames[B, T, F] -> the same averaged over time by a triangular kernel `width` frames wide
    (1: unchanged); the ends are padded by repeating the edge frames."""
    if width <= 1:
        return feats
    half = width // 2
    kernel = torch.cat([torch.arange(1, half + 2), torch.arange(half, 0, -1)]).float()
    kernel = (kernel / kernel.sum()).to(feats)
    b, t, f = feats.shape
    x = feats.transpose(1, 2).reshape(b * f, 1, t)
    x = torch.nn.functional.pad(x, (half, half), mode="replicate")
    x = torch.nn.functional.conv1d(x, kernel.view(1, 1, -1))
    return x.reshape(b, f, t).transpose(1, 2)


def _rebuild(codec: SpectralCodec, wav: torch.Tensor, smooth: int, levels: int) -> torch.Tensor:
    """wav[S] at 24 kHz -> its codec round trip wav[S'] from the first `levels` levels, the
    decoded frames smoothed in time."""
    feats = codec.dequantize(codec.encode(wav[None, None], SAMPLE_RATE)[:, :levels])
    return codec.waveform(_smooth(feats, smooth))[0]


def _quant_error(codec: SpectralCodec, wavs: list[torch.Tensor]) -> float:
    """RMS error (natural-log magnitude, unweighted) of the all-level reconstruction."""
    sq, n = 0.0, 0
    for w in wavs:
        feats = codec.features(w[None])[0]
        rebuilt = codec.dequantize(codec.quantize(feats).T[None])[0]
        err = codec.log_magnitude(rebuilt - feats)
        sq += float(err.pow(2).sum())
        n += err.numel()
    return (sq / n) ** 0.5


def _load(rows: list[dict], seconds: float | None) -> list[torch.Tensor]:
    """Rows -> mono wav[S] at 24 kHz (the first `seconds` of each, or all)."""
    out = []
    for row in rows:
        if seconds is None:
            wav, sr = read_audio(row["audio"])
            wav = wav.mean(0)
        else:
            data, sr = read_head(row["audio"], max_seconds=seconds)
            wav = torch.from_numpy(data).mean(0)
        if sr != SAMPLE_RATE:
            raise ValueError(f"{row['audio']}: {sr} Hz, the study wants 24 kHz renders")
        out.append(wav)
    return out


_FITTED: dict[str, SpectralCodec] = {}  # variants that differ only in decoding share one fit


def _codec(spec: dict, train_wavs: list[torch.Tensor]) -> SpectralCodec:
    """A variant's codec: loaded (`load`), or fitted on the train clips (once per fit spec)."""
    if "load" in spec:  # a saved codec folder, e.g. the shipped one
        return SpectralCodec.load(spec["load"])
    fitting = {k: v for k, v in spec.items() if k not in DECODE_KEYS}
    key = json.dumps(fitting, sort_keys=True)
    if key not in _FITTED:
        config = SpectralCodecConfig(**{k: v for k, v in fitting.items() if k not in FIT_KEYS})
        power = spec.get("weight_power")
        # What SpectralCodec.fit runs, with the study's probe (its bin weights may be overridden).
        options = FitOptions(**{k: spec[k] for k in FIT_KEYS[:3] if k in spec}, progress=False)
        clips = ((w[None], SAMPLE_RATE) for w in train_wavs)
        codebooks = fit_codebooks(_probe(config, power), clips, options)
        _FITTED[key] = _weighted(SpectralCodec(config=config, codebooks=codebooks), power)
    return _FITTED[key]


def _variant(name, spec, train_wavs, test_wavs, test_rows, args, clf) -> dict:
    """Fit, rebuild, score one variant -> its summary."""
    t0 = time.time()
    codec = _codec(spec, train_wavs)
    fit_s = time.time() - t0
    folder = args.out / "audio" / name
    folder.mkdir(parents=True, exist_ok=True)
    with torch.inference_mode():
        for row, wav in zip(test_rows, test_wavs, strict=True):
            rebuilt = _rebuild(codec, wav, spec.get("smooth", 1), spec.get("levels", codec.n_q))
            sf.write(str(folder / f"{Path(row['audio']).stem}.wav"), rebuilt.numpy(), SAMPLE_RATE)
        error = _quant_error(codec, test_wavs)
    config_eval = EvalConfig(
        limit=len(test_rows), progress=False, cache_dir=args.cache_dir or args.out / "cache"
    )
    metrics = evaluate_audio_dir(folder, args.test, out_dir=args.out / "eval" / name,
                                 classifier=clf, config=config_eval)  # fmt: skip
    return {"spec": spec, "fit_seconds": round(fit_s, 1), "train_clips": len(train_wavs),
            "quant_rms": round(error, 4), "accuracy": metrics["accuracy"]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", required=True, type=Path)
    parser.add_argument("--test", required=True, type=Path)
    parser.add_argument("--classifier", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--variant", action="append", required=True, help="name=JSON")
    parser.add_argument("--train-clips", type=int, default=600, help="clips read for fitting")
    parser.add_argument("--limit", type=int, default=240)
    parser.add_argument("--seconds", type=float, default=3.0, help="head of each test clip")
    parser.add_argument("--cache-dir", type=Path, help="eval cache of the real analyses")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    variants = dict(v.split("=", 1) for v in args.variant)
    train_wavs = _load(_spread(read_split(args.train), args.train_clips), None)
    test_rows = read_split(args.test, limit=args.limit)
    test_wavs = _load(test_rows, args.seconds)
    clf = InstrumentClassifier.load(args.classifier)
    summary_path = args.out / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
    for name, spec in variants.items():
        if name not in summary:
            summary[name] = _variant(name, json.loads(spec), train_wavs, test_wavs, test_rows,
                                     args, clf)  # fmt: skip
        first = next(iter(variants))
        if name != first:
            summary[name]["minus_" + first] = paired(args.out / "eval" / first,
                                                     args.out / "eval" / name)  # fmt: skip
        summary_path.write_text(json.dumps(summary, indent=1, default=str))
        print(name, json.dumps(summary[name], default=str), flush=True)


if __name__ == "__main__":
    main()
