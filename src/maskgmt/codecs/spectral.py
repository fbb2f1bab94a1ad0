"""SpectralCodec: residual VQ of log-magnitude STFT frames, fitted by k-means; needs no download.

Each frame of a 24 kHz mono signal (hop 320 -> 75 frames/s, like EnCodec 24 kHz) becomes a
log-magnitude spectrum; level 0 picks the nearest of V centroids, level k the nearest centroid
to what levels < k left over. Decoding sums the chosen centroids and rebuilds the phase with
fast Griffin-Lim. The codebooks are fitted on the user's own audio in seconds.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm

from maskgmt.codecs.checks import check_codes, fingerprint, frame_spans, frames_for, prepare_wav
from maskgmt.codecs.kmeans import nearest, residual_kmeans
from maskgmt.codecs.phase import griffin_lim, istft

CONFIG_NAME = "spectral_codec.json"  # what marks a saved SpectralCodec folder
WEIGHTS_NAME = "codebooks.safetensors"
FORMAT = "maskgmt-spectral-codec"


@dataclass(frozen=True)
class SpectralCodecConfig:
    """Hyperparameters of a SpectralCodec (validated at construction)."""

    sample_rate: int = 24_000  # Hz the codec works at (input is resampled to it)
    hop_length: int = 320  # samples per frame: 24000 / 320 = 75 frames/s, as EnCodec 24 kHz
    n_fft: int = 1280  # window = 4 hops, so Hann windows overlap-add to a constant
    n_q: int = 8  # K residual levels
    codebook_size: int = 1024  # V codes per level
    floor_db: float = -60.0  # magnitudes below this (dB re a full-scale sine) count as silence
    mel_weighting: bool = True  # weigh bins by mel density so codes spend bits where pitch is
    griffin_lim_iters: int = 32  # phase iterations at decode: quality vs speed
    momentum: float = 0.99  # fast Griffin-Lim extrapolation (0 = classic Griffin-Lim)
    chunk_seconds: float = 30.0  # long audio is encoded/decoded in pieces this long

    def __post_init__(self):
        positive_ints = ("sample_rate", "hop_length", "n_fft", "n_q", "codebook_size")
        for name in (*positive_ints, "griffin_lim_iters"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"SpectralCodecConfig.{name} must be an int >= 0; got {value!r}")
        for name in positive_ints:
            if getattr(self, name) == 0:
                raise ValueError(f"SpectralCodecConfig.{name} must be > 0; got 0")
        if self.n_fft < 2 * self.hop_length:
            raise ValueError(
                f"SpectralCodecConfig.n_fft ({self.n_fft}) must be >= 2 * hop_length "
                f"({2 * self.hop_length}) so frames overlap enough to rebuild the phase"
            )
        if self.codebook_size < 2:
            raise ValueError("SpectralCodecConfig.codebook_size must be >= 2")
        if not -200.0 <= self.floor_db < 0.0:
            raise ValueError(
                f"SpectralCodecConfig.floor_db must be in [-200, 0); got {self.floor_db}"
            )
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError(f"SpectralCodecConfig.momentum must be in [0, 1): {self.momentum}")
        if not self.chunk_seconds > 0:
            raise ValueError(
                f"SpectralCodecConfig.chunk_seconds must be > 0; got {self.chunk_seconds}"
            )

    @property
    def num_bins(self) -> int:
        """F, frequency bins per frame."""
        return self.n_fft // 2 + 1


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
        # pitch rather than on noise between 5 and 12 kHz.
        freqs = torch.linspace(0.0, config.sample_rate / 2, config.num_bins, device=self.device)
        w = 1.0 / (700.0 + freqs) if config.mel_weighting else torch.ones_like(freqs)
        self._bin_scale = (w / w.mean()).sqrt()  # (F,)
        self._fingerprint = fingerprint(self.codebooks, _config_tensor(config))

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
        config = config or SpectralCodecConfig()
        return cls._fit(
            ((clip, sample_rate) for clip in clips),
            config=config,
            max_seconds=max_seconds,
            max_frames=max_frames,
            kmeans_iters=kmeans_iters,
            seed=seed,
            device=device,
            progress=progress,
        )

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

        files = list(files)
        if not files:
            raise ValueError("files is empty; pass at least one audio file to fit the codec on")
        bar = tqdm(files, desc="reading audio", unit="file", disable=not progress)
        return cls._fit(
            (read_audio(path) for path in bar),
            config=config or SpectralCodecConfig(),
            max_seconds=max_seconds,
            max_frames=max_frames,
            kmeans_iters=kmeans_iters,
            seed=seed,
            device=device,
            progress=progress,
        )

    @classmethod
    def _fit(
        cls,
        clips: Iterable[tuple[torch.Tensor, int]],
        *,
        config: SpectralCodecConfig,
        max_seconds: float | None,
        max_frames: int,
        kmeans_iters: int,
        seed: int,
        device: str | torch.device,
        progress: bool,
    ) -> SpectralCodec:
        _check_fit_args(max_seconds=max_seconds, kmeans_iters=kmeans_iters, seed=seed)
        if max_frames < config.codebook_size:
            raise ValueError(
                f"max_frames ({max_frames}) must be >= codebook_size ({config.codebook_size})"
            )
        # Placeholder codebooks give feature extraction its window and scales before fitting.
        shape = (config.n_q, config.codebook_size, config.num_bins)
        probe = cls(config=config, codebooks=torch.zeros(shape), device=device)
        budget = math.inf if max_seconds is None else int(max_seconds * probe.frame_rate)
        frames, total = [], 0
        with torch.no_grad():
            for clip, rate in clips:
                if total >= budget:
                    break
                if not isinstance(clip, torch.Tensor) or clip.dim() != 2:
                    got = tuple(clip.shape) if isinstance(clip, torch.Tensor) else type(clip)
                    raise ValueError(f"each clip must be wav[C, S]; got {got}")
                wav = prepare_wav(
                    clip[None],
                    rate,
                    target_rate=config.sample_rate,
                    target_channels=1,
                )
                feats = probe.features(wav[:, 0].to(probe.device))[0]  # (T, F)
                feats = feats[: int(min(budget - total, feats.shape[0]))]
                frames.append(feats)
                total += feats.shape[0]
        if not frames:
            raise ValueError("no training audio was given; pass at least one clip")
        x = torch.cat(frames)  # (N, F)
        floor = math.log(probe._eps) * probe._bin_scale
        audible = (x > floor + 1e-3).any(dim=-1)
        if not audible.any():
            raise ValueError(
                f"the training audio is silent (every frame below {config.floor_db} dB); "
                "fit on audio that has sound in it"
            )
        if x.shape[0] < config.codebook_size:
            need = config.codebook_size / probe.frame_rate
            raise ValueError(
                f"fitting {config.codebook_size} codes needs at least {config.codebook_size} "
                f"frames ({need:.1f} s of audio); got {x.shape[0]} frames "
                f"({x.shape[0] / probe.frame_rate:.1f} s). Add audio or lower codebook_size"
            )
        generator = torch.Generator().manual_seed(seed)
        if x.shape[0] > max_frames:
            x = x[torch.randperm(x.shape[0], generator=generator)[:max_frames].to(x.device)]
        codebooks = residual_kmeans(
            x,
            levels=config.n_q,
            k=config.codebook_size,
            iters=kmeans_iters,
            generator=generator,
            progress=progress,
        )
        return cls(config=config, codebooks=codebooks, device=device)

    # ---- persistence -----------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """Write `spectral_codec.json` + `codebooks.safetensors` to `directory`; returns it.

        Afterwards `identity()["source"]` names that folder.
        """
        from safetensors.torch import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        save_file({"codebooks": self.codebooks.cpu().contiguous()}, str(directory / WEIGHTS_NAME))
        meta = {
            "format": FORMAT,
            "version": 1,
            "config": dataclasses.asdict(self.config),
            "fingerprint": self._fingerprint,
        }
        (directory / CONFIG_NAME).write_text(json.dumps(meta, indent=2) + "\n")
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
            config = SpectralCodecConfig(**meta["config"])
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


def _config_tensor(config: SpectralCodecConfig) -> torch.Tensor:
    """The settings that change what codes mean, as numbers to hash with the codebooks."""
    return torch.tensor(
        [
            config.sample_rate,
            config.hop_length,
            config.n_fft,
            config.floor_db,
            config.mel_weighting,
        ],
        dtype=torch.float64,
    )


def _check_fit_args(*, max_seconds: float | None, kmeans_iters: int, seed: int) -> None:
    """Refuse fit arguments torch would turn into a traceback or silently bend."""
    if max_seconds is not None and not (
        isinstance(max_seconds, (int, float)) and math.isfinite(max_seconds) and max_seconds > 0
    ):
        raise ValueError(
            f"max_seconds must be a finite number > 0 (or None for all audio); got {max_seconds}"
        )
    if isinstance(kmeans_iters, bool) or not isinstance(kmeans_iters, int) or kmeans_iters < 0:
        raise ValueError(f"kmeans_iters must be an int >= 0; got {kmeans_iters!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or not -(2**63) <= seed < 2**64:
        raise ValueError(f"seed must be an int in [-2**63, 2**64 - 1]; got {seed!r}")
