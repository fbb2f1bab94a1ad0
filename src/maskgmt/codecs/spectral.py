"""SpectralCodec: residual VQ of log-magnitude STFT frames, fitted by k-means; needs no download.

Each frame of a 24 kHz mono signal (hop 320 -> 75 frames/s, like EnCodec 24 kHz) becomes a
log-magnitude spectrum; level 0 picks the nearest of V centroids, level k the nearest centroid
to what levels < k left over. Decoding sums the chosen centroids and rebuilds the phase with
fast Griffin-Lim. The codebooks are fitted on the user's own audio in seconds.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable
from pathlib import Path

import torch

from maskgmt.codecs.checks import check_codes, fingerprint, frame_spans, frames_for, prepare_wav
from maskgmt.codecs.kmeans import nearest
from maskgmt.codecs.phase import griffin_lim, istft
from maskgmt.codecs.spectral_config import SpectralCodecConfig, config_tensor
from maskgmt.codecs.spectral_fit import FitOptions, fit_codebooks
from maskgmt.progress import tqdm

CONFIG_NAME = "spectral_codec.json"  # what marks a saved SpectralCodec folder
WEIGHTS_NAME = "codebooks.safetensors"
FORMAT = "maskgmt-spectral-codec"


class SpectralCodec:
    """An `AudioCodec` over fitted RVQ codebooks[K, V, F] of log-magnitude spectra.

    Build one with `SpectralCodec.fit(...)`, `SpectralCodec.fit_files(...)` or
    `SpectralCodec.load(dir)`; the constructor takes already fitted codebooks.
    """

    channels = 1

    def __init__(
        self,
        *,
        config: SpectralCodecConfig,
        codebooks: torch.Tensor,
        device: str | torch.device = "cpu",
        source: str | None = None,
    ):
        want = (config.n_q, config.codebook_size, config.num_bins)
        if not isinstance(codebooks, torch.Tensor) or tuple(codebooks.shape) != want:
            got = tuple(codebooks.shape) if isinstance(codebooks, torch.Tensor) else codebooks
            raise ValueError(
                f"codebooks must have shape (n_q, codebook_size, F) = {want}; got {got}"
            )
        if not torch.isfinite(codebooks).all():
            raise ValueError("codebooks hold NaN/inf values; refit the codec")
        self.config = config
        self.device = torch.device(device)
        self.codebooks = codebooks.detach().to(self.device, torch.float32)  # (K, V, F)
        self.source = source
        self.window = torch.hann_window(config.n_fft, device=self.device)
        # Scale so a full-scale sine peaks at magnitude 1: floor_db is then relative to it.
        self._mag_scale = float(self.window.sum()) / 2.0
        self._eps = 10.0 ** (config.floor_db / 20.0)
        # Squared error on features scaled by sqrt(w) is error weighted by w: with w ~ mel
        # density (1 / (700 Hz + f)) the k-means spends codes on the low partials that carry
        # pitch; with equal weights (the default) also on the upper partials that carry timbre.
        freqs = torch.linspace(0.0, config.sample_rate / 2, config.num_bins, device=self.device)
        w = 1.0 / (700.0 + freqs) if config.mel_weighting else torch.ones_like(freqs)
        self._bin_scale = (w / w.mean()).sqrt()  # (F,)
        self._fingerprint = fingerprint(self.codebooks, config_tensor(config))

    # ---- AudioCodec surface ----------------------------------------------------------------
    @property
    def sample_rate(self) -> int:
        return self.config.sample_rate

    @property
    def frame_rate(self) -> float:
        return self.config.sample_rate / self.config.hop_length

    @property
    def n_q(self) -> int:
        return self.config.n_q

    @property
    def codebook_size(self) -> int:
        return self.config.codebook_size

    def identity(self) -> dict:
        """JSON-able description; `fingerprint` hashes the codebooks, so refits differ."""
        return {
            "kind": "spectral",
            "source": self.source,
            "n_q": self.n_q,
            "codebook_size": self.codebook_size,
            "sample_rate": self.sample_rate,
            "frame_rate": self.frame_rate,
            "channels": self.channels,
            "n_fft": self.config.n_fft,
            "hop_length": self.config.hop_length,
            "fingerprint": self._fingerprint,
        }

    @torch.no_grad()
    def encode(self, wav: torch.Tensor, sample_rate: int) -> torch.Tensor:
        """wav[B, C, S] at `sample_rate` Hz -> codes[B, K, T] long, T = ceil(S' / hop) at 24 kHz."""
        wav = prepare_wav(wav, sample_rate, target_rate=self.sample_rate, target_channels=1)
        wav = wav.to(self.device)
        feats = self.features(wav[:, 0])  # (B, T, F)
        b, t, f = feats.shape
        return self.quantize(feats.reshape(b * t, f)).reshape(b, t, self.n_q).transpose(1, 2)

    @torch.no_grad()
    def decode(self, codes: torch.Tensor, *, levels: int | None = None) -> torch.Tensor:
        """codes[B, K, T] -> wav[B, 1, T * hop] at 24 kHz. `levels` uses only the first levels."""
        codes = check_codes(
            codes, n_q=self.n_q, codebook_size=self.codebook_size, levels=levels
        ).to(self.device)
        feats = self.dequantize(codes)  # (B, T, F)
        return self.waveform(feats)[:, None]

    # ---- spectral frames -------------------------------------------------------------------
    def features(self, wav: torch.Tensor) -> torch.Tensor:
        """wav[B, S] at `sample_rate` -> weighted log-magnitude frames[B, T, F], T = ceil(S / hop).

        Frame t is centred on sample t * hop. Computed in chunks so long audio stays small.
        """
        hop, n_fft = self.config.hop_length, self.config.n_fft
        t = frames_for(wav.shape[-1], hop)
        wav = torch.nn.functional.pad(wav, (0, t * hop - wav.shape[-1]))
        # Reflect needs more samples than the pad; very short clips get zeros instead.
        mode = "reflect" if wav.shape[-1] > n_fft // 2 else "constant"
        padded = torch.nn.functional.pad(wav[:, None], (n_fft // 2, n_fft // 2), mode=mode)[:, 0]
        chunk = max(1, int(self.config.chunk_seconds * self.frame_rate))
        out = []
        for start, end in frame_spans(t, chunk):
            piece = padded[:, start * hop : (end - 1) * hop + n_fft]
            spec = torch.stft(
                piece, n_fft, hop, window=self.window, center=False, return_complex=True
            )  # (B, F, end - start)
            log_mag = torch.log(spec.abs() / self._mag_scale + self._eps).transpose(1, 2)
            out.append(log_mag * self._bin_scale)
        return torch.cat(out, dim=1)

    def quantize(self, feats: torch.Tensor) -> torch.Tensor:
        """feats[N, F] -> codes[N, K]: level k codes what levels < k left over."""
        residual = feats.clone()
        codes = []
        for codebook in self.codebooks:  # (V, F)
            index, _ = nearest(residual, codebook)
            residual -= codebook[index]
            codes.append(index)
        return torch.stack(codes, dim=-1)

    def dequantize(self, codes: torch.Tensor) -> torch.Tensor:
        """codes[B, K', T] (K' <= K levels) -> log-magnitude frames[B, T, F]."""
        feats = torch.zeros(
            codes.shape[0], codes.shape[-1], self.config.num_bins, device=self.device
        )
        for level in range(codes.shape[1]):
            feats += self.codebooks[level][codes[:, level]]
        return feats

    def log_magnitude(self, feats: torch.Tensor) -> torch.Tensor:
        """Weighted frames[B, T, F] -> ln(magnitude re a full-scale sine + floor)[B, T, F]."""
        return feats / self._bin_scale

    def magnitude(self, feats: torch.Tensor) -> torch.Tensor:
        """log-magnitude frames[B, T, F] -> linear STFT magnitude[B, F, T] (inverse of features)."""
        log_mag = self.log_magnitude(feats)
        return ((log_mag.exp() - self._eps).clamp_min(0.0) * self._mag_scale).transpose(1, 2)

    def waveform(self, feats: torch.Tensor) -> torch.Tensor:
        """log-magnitude frames[B, T, F] -> wav[B, T * hop], the phase rebuilt by Griffin-Lim.

        Long inputs are rebuilt in overlapping pieces joined by linear cross-fades.
        """
        hop = self.config.hop_length
        t = feats.shape[1]
        chunk = max(1, int(self.config.chunk_seconds * self.frame_rate))
        overlap = min(chunk // 4, int(self.frame_rate))  # up to 1 s of shared frames
        out = torch.zeros(feats.shape[0], t * hop, device=self.device)
        weight = torch.zeros(t * hop, device=self.device)
        start = 0
        while start < t:
            end = min(start + chunk, t)
            lo = max(0, start - overlap)
            piece = self._rebuild(feats[:, lo:end])  # (B, (end - lo) * hop)
            w = torch.ones(piece.shape[-1], device=self.device)
            if lo < start:  # fade in over the frames shared with the previous piece
                ramp = (start - lo) * hop
                w[:ramp] = torch.linspace(0.0, 1.0, ramp + 2, device=self.device)[1:-1]
            out[:, lo * hop : end * hop] += piece * w
            weight[lo * hop : end * hop] += w
            start = end
        return out / weight.clamp_min(1e-8)

    def _rebuild(self, feats: torch.Tensor) -> torch.Tensor:
        """frames[B, T, F] -> wav[B, T * hop] for one piece."""
        n_fft, hop = self.config.n_fft, self.config.hop_length
        # stft of T * hop samples has T + 1 centred frames: repeat the last one.
        feats = torch.cat([feats, feats[:, -1:]], dim=1)
        mag = self.magnitude(feats)
        length = (feats.shape[1] - 1) * hop
        if self.config.griffin_lim_iters == 0:
            zero_phase = mag.to(torch.complex64)
            return istft(zero_phase, n_fft=n_fft, hop_length=hop, window=self.window, length=length)
        return griffin_lim(
            mag,
            n_fft=n_fft,
            hop_length=hop,
            window=self.window,
            length=length,
            iters=self.config.griffin_lim_iters,
            momentum=self.config.momentum,
        )

    # ---- fitting ---------------------------------------------------------------------------
    @classmethod
    def fit(
        cls,
        clips: Iterable[torch.Tensor],
        *,
        sample_rate: int,
        config: SpectralCodecConfig | None = None,
        max_seconds: float | None = None,
        max_frames: int = 40_000,
        kmeans_iters: int = 10,
        seed: int = 0,
        device: str | torch.device = "cpu",
        progress: bool = True,
    ) -> SpectralCodec:
        """Fit codebooks on clips (each wav[C, S] at `sample_rate` Hz) and return the codec.

        Uses at most `max_seconds` of audio (all of it by default); k-means runs on at most
        `max_frames` random frames. Level k is fitted on the residual left by levels < k.
        Deterministic for a given `seed`.
        """
        options = FitOptions(max_seconds, max_frames, kmeans_iters, seed, device, progress)
        return cls._fit(((clip, sample_rate) for clip in clips), config, options)

    @classmethod
    def fit_files(
        cls,
        files: Iterable[str | Path],
        *,
        config: SpectralCodecConfig | None = None,
        max_seconds: float | None = None,
        max_frames: int = 40_000,
        kmeans_iters: int = 10,
        seed: int = 0,
        device: str | torch.device = "cpu",
        progress: bool = True,
    ) -> SpectralCodec:
        """Like `fit`, reading the clips from audio files (any sample rate or channel count)."""
        from maskgmt.audio import read_audio

        options = FitOptions(max_seconds, max_frames, kmeans_iters, seed, device, progress)
        files = list(files)
        if not files:
            raise ValueError("files is empty; pass at least one audio file to fit the codec on")
        bar = tqdm(files, desc="reading audio", unit="file", disable=not progress)
        return cls._fit((read_audio(path) for path in bar), config, options)

    @classmethod
    def _fit(
        cls,
        clips: Iterable[tuple[torch.Tensor, int]],
        config: SpectralCodecConfig | None,
        options: FitOptions,
    ) -> SpectralCodec:
        config = config or SpectralCodecConfig()
        # Placeholder codebooks give feature extraction its window and scales before fitting.
        shape = (config.n_q, config.codebook_size, config.num_bins)
        probe = cls(config=config, codebooks=torch.zeros(shape), device=options.device)
        codebooks = fit_codebooks(probe, clips, options)
        return cls(config=config, codebooks=codebooks, device=options.device)

    # ---- persistence -----------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """Write `spectral_codec.json` + `codebooks.safetensors` to `directory`; returns it.

        Each file is written beside its target and renamed into place, so a crash never leaves
        a half-written file (and `load` refuses a pair from two fits by its fingerprint).
        Afterwards `identity()["source"]` names that folder.
        """
        from safetensors.torch import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        meta = {
            "format": FORMAT,
            "version": 1,
            "config": dataclasses.asdict(self.config),
            "fingerprint": self._fingerprint,
        }
        codebooks = {"codebooks": self.codebooks.cpu().contiguous()}
        for name, write in (
            (WEIGHTS_NAME, lambda path: save_file(codebooks, str(path))),
            (CONFIG_NAME, lambda path: path.write_text(json.dumps(meta, indent=2) + "\n")),
        ):
            tmp = directory / f".{name}.tmp"
            write(tmp)
            os.replace(tmp, directory / name)
        self.source = str(directory.resolve())
        return directory

    @classmethod
    def load(cls, directory: str | Path, *, device: str | torch.device = "cpu") -> SpectralCodec:
        """Load a codec written by `save`. Raises FileNotFoundError/ValueError naming the file."""
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        directory = Path(directory)
        config_path, weights_path = directory / CONFIG_NAME, directory / WEIGHTS_NAME
        for path in (config_path, weights_path):
            if not path.is_file():
                raise FileNotFoundError(
                    f"{str(path)!r} is missing; {str(directory)!r} is not a saved SpectralCodec "
                    "folder (make one with `maskgmt codec fit ... --out DIR`)"
                )
        try:
            meta = json.loads(config_path.read_text())
            if meta.get("format") != FORMAT:
                raise ValueError(f"format is {meta.get('format')!r}, expected {FORMAT!r}")
            # Until 2026-12 mel weights were the default: a config without the key has them.
            config = SpectralCodecConfig(**{"mel_weighting": True, **meta["config"]})
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
            raise ValueError(
                f"{str(config_path)!r} is not a valid SpectralCodec config: {e}"
            ) from None
        try:
            codebooks = load_file(str(weights_path))["codebooks"]
        except (SafetensorError, KeyError, OSError) as e:
            raise ValueError(f"could not read codebooks from {str(weights_path)!r}: {e}") from None
        codec = cls(
            config=config, codebooks=codebooks, device=device, source=str(directory.resolve())
        )
        if meta.get("fingerprint") not in (None, codec._fingerprint):
            raise ValueError(
                f"{str(weights_path)!r} does not match the fingerprint in {str(config_path)!r} "
                "(files from two different fits?); refit or restore the folder"
            )
        return codec
