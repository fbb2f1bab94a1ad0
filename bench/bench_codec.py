"""Benchmark the SpectralCodec: fit time, encode/decode speed, quality per number of levels.

Renders instrument melodies with FluidSynth, fits on the training part, measures on held-out
melodies, and writes JSON:

    python bench/bench_codec.py                      # -> bench/results/codec.json
    python bench/bench_codec.py --audio corpus.jsonl # your own audio (first 20% held out)

Quality per k levels: log-spectral distance (dB) of the decoded waveform and of the decoded
spectrum before phase reconstruction, and chroma cosine similarity.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from maskgmt.audio import list_audio_files, read_audio, resample
from maskgmt.codecs import EncodecCodec, SpectralCodec, SpectralCodecConfig
from maskgmt.data.corpus import Renderer, find_soundfont

SR = 24_000
# GM programs: piano, violin, nylon guitar, flute, organ, trumpet, cello, marimba.
PROGRAMS = [0, 40, 24, 73, 19, 56, 42, 12]


# ---- test audio -------------------------------------------------------------------------------
def melody(rng: np.random.Generator, seconds: float) -> list[tuple[int, float, float]]:
    """(pitch, start_s, duration_s) notes with some two-note chords."""
    notes, t = [], 0.0
    while t < seconds - 0.5:
        dur = float(rng.choice([0.25, 0.5, 0.75, 1.0]))
        pitch = int(rng.integers(45, 86))
        notes.append((pitch, t, dur))
        if rng.random() < 0.3:
            notes.append((pitch + int(rng.choice([3, 4, 7])), t, dur))
        t += dur
    return notes


def rendered_clips(total_seconds: float, clip_seconds: float, seed: int) -> list[torch.Tensor]:
    rng = np.random.default_rng(seed)
    renderer = Renderer(soundfont=find_soundfont(None), sample_rate=SR)
    return [
        torch.from_numpy(
            renderer.synthesize_notes(
                melody(rng, clip_seconds), program=PROGRAMS[i % len(PROGRAMS)], seconds=clip_seconds
            )
        )[None]
        for i in range(max(1, round(total_seconds / clip_seconds)))
    ]


def file_clips(source: str) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    clips = []
    for path in list_audio_files(source):
        wav, sr = read_audio(path)
        clips.append(resample(wav.mean(0, keepdim=True), sr, SR))
    cut = max(1, len(clips) // 5)
    return clips[cut:], clips[:cut]


# ---- metrics ----------------------------------------------------------------------------------
# Bins below this (dB re a full-scale sine) count as silence, as in the codec: below it the
# distance would measure noise the codec is designed to drop.
LSD_FLOOR_DB = -60.0


def log_power(wav: torch.Tensor) -> torch.Tensor:
    """wav[S] -> dB re a full-scale sine, power[F, T] (n_fft 2048, hop 512), floored."""
    window = torch.hann_window(2048)
    spec = torch.stft(wav, 2048, 512, window=window, return_complex=True) / (window.sum() / 2)
    return 10 * torch.log10(spec.abs().pow(2).clamp_min(10 ** (LSD_FLOOR_DB / 10)))


def lsd_db(a: torch.Tensor, b: torch.Tensor) -> float:
    """Log-spectral distance (dB) of wav[S] b from a, over frames where a is audible."""
    pa, pb = log_power(a), log_power(b[..., : a.shape[-1]])
    n = min(pa.shape[-1], pb.shape[-1])
    pa, pb = pa[:, :n], pb[:, :n]
    audible = pa.max(0).values > LSD_FLOOR_DB + 1.0
    return float((pa - pb).pow(2).mean(0).sqrt()[audible].mean())


def chroma_similarity(a: torch.Tensor, b: torch.Tensor) -> float:
    import librosa

    ca = librosa.feature.chroma_stft(y=a.numpy(), sr=SR, n_fft=2048, hop_length=512)
    cb = librosa.feature.chroma_stft(y=b.numpy(), sr=SR, n_fft=2048, hop_length=512)
    rms = librosa.feature.rms(y=a.numpy(), frame_length=2048, hop_length=512)[0]
    n = min(ca.shape[1], cb.shape[1], rms.shape[0])
    ca, cb, audible = ca[:, :n], cb[:, :n], rms[:n] > 0.05 * rms.max()
    cos = (ca * cb).sum(0) / (np.linalg.norm(ca, axis=0) * np.linalg.norm(cb, axis=0) + 1e-9)
    return float(cos[audible].mean())


def timed(fn, repeats: int = 3) -> tuple[float, object]:
    """Best wall time of `repeats` calls (the machine may be shared) and the last result."""
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


# ---- main -------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--audio", help="manifest or folder to use instead of rendered notes")
    parser.add_argument("--train-seconds", type=float, default=180.0)
    parser.add_argument("--test-seconds", type=float, default=40.0)
    parser.add_argument("--n-q", type=int, default=8)
    parser.add_argument("--codebook-size", type=int, default=1024)
    parser.add_argument("--kmeans-iters", type=int, default=10)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--encodec", action="store_true", help="also time random-init EnCodec")
    parser.add_argument("--out", default="bench/results/codec.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    if args.audio:
        train, test = file_clips(args.audio)
    else:
        train = rendered_clips(args.train_seconds, 10.0, seed=0)
        test = rendered_clips(args.test_seconds, 10.0, seed=1)  # other melodies, held out

    config = SpectralCodecConfig(n_q=args.n_q, codebook_size=args.codebook_size)
    start = time.perf_counter()
    codec = SpectralCodec.fit(train, sample_rate=SR, config=config, kmeans_iters=args.kmeans_iters)
    fit_s = time.perf_counter() - start

    test_seconds = sum(c.shape[-1] for c in test) / SR
    ten_s = test[0][None, :, : 10 * SR]  # (1, 1, S): one 10 s clip, batch 1
    enc_s, _ = timed(lambda: codec.encode(ten_s, SR))
    codes_10 = codec.encode(ten_s, SR)
    dec_s, _ = timed(lambda: codec.decode(codes_10))

    per_level = []
    test_codes = [codec.encode(clip[None], SR) for clip in test]
    for k in range(1, codec.n_q + 1):
        lsd, lsd_spec, chroma = [], [], []
        for clip, codes in zip(test, test_codes, strict=True):
            rebuilt = codec.decode(codes, levels=k)[0, 0]
            lsd.append(lsd_db(clip[0], rebuilt))
            target = codec.log_magnitude(codec.features(clip))
            approx = codec.log_magnitude(codec.dequantize(codes[:, :k]))[0]
            lsd_spec.append(
                float((20 / np.log(10)) * (target - approx).pow(2).mean(-1).sqrt().mean())
            )
            chroma.append(chroma_similarity(clip[0], rebuilt))
        per_level.append(
            {
                "levels": k,
                "lsd_db": round(float(np.mean(lsd)), 3),
                "lsd_db_before_phase": round(float(np.mean(lsd_spec)), 3),
                "chroma_cosine": round(float(np.mean(chroma)), 4),
            }
        )
        print(per_level[-1], flush=True)

    results = {
        "machine": f"{platform.processor() or platform.machine()}, {args.threads} torch threads",
        "audio": args.audio or "FluidSynth-rendered GM melodies (8 instruments)",
        "train_seconds": round(sum(c.shape[-1] for c in train) / SR, 1),
        "held_out_seconds": round(test_seconds, 1),
        "config": {
            "n_q": args.n_q,
            "codebook_size": args.codebook_size,
            "kmeans_iters": args.kmeans_iters,
        },
        "fit_seconds": round(fit_s, 2),
        "encode_10s_seconds": round(enc_s, 3),
        "decode_10s_seconds": round(dec_s, 3),
        "encode_x_realtime": round(10.0 / enc_s, 1),
        "decode_x_realtime": round(10.0 / dec_s, 1),
        "lsd_floor_db": LSD_FLOOR_DB,
        "per_level": per_level,
    }
    if args.encodec:
        for layout in ("24khz", "32khz"):
            enc = EncodecCodec.from_config(layout)
            wav = ten_s[..., : 5 * SR]
            e_s, codes = timed(lambda enc=enc, wav=wav: enc.encode(wav, SR), repeats=1)
            d_s, _ = timed(lambda enc=enc, codes=codes: enc.decode(codes), repeats=1)
            results[f"encodec_{layout}_random_init"] = {
                "encode_x_realtime": round(5.0 / e_s, 2),
                "decode_x_realtime": round(5.0 / d_s, 2),
            }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps({k: v for k, v in results.items() if k != "per_level"}, indent=2))


if __name__ == "__main__":
    main()
