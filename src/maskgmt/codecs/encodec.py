"""EncodecCodec: the `AudioCodec` contract over `transformers.EncodecModel` (24 and 32 kHz)."""

from __future__ import annotations

import math
from pathlib import Path

import torch

from maskgmt.codecs.checks import check_codes, fingerprint, frame_spans, frames_for, prepare_wav
from maskgmt.codecs.hub import load_encodec_model

# Architectures of the released checkpoints (their hub config.json files), for `from_config`.
LAYOUTS: dict[str, dict] = {
    # facebook/encodec_24khz: transformers' EncodecConfig defaults; 75 Hz, 1024 codes, K<=32.
    "24khz": {
        "sampling_rate": 24_000,
        "audio_channels": 1,
        "target_bandwidths": [1.5, 3.0, 6.0, 12.0, 24.0],
        "num_filters": 32,
        "upsampling_ratios": [8, 5, 4, 2],
        "codebook_size": 1024,
        "use_causal_conv": True,
        "use_conv_shortcut": True,
        "norm_type": "weight_norm",
        "normalize": False,
    },
    # facebook/encodec_32khz, MusicGen's and MAGNeT's codec: 50 Hz, 2048 codes, K=4 at 2.2 kbps.
    "32khz": {
        "sampling_rate": 32_000,
        "audio_channels": 1,
        "target_bandwidths": [2.2],
        "num_filters": 64,
        "upsampling_ratios": [8, 5, 4, 4],
        "codebook_size": 2048,
        "codebook_dim": 128,
        "use_causal_conv": False,
        "use_conv_shortcut": False,
        "norm_type": "weight_norm",
        "normalize": False,
    },
}
HUB_IDS: dict[str, str] = {
    "24khz": "facebook/encodec_24khz",
    "32khz": "facebook/encodec_32khz",
}


class EncodecCodec:
    """EnCodec through transformers: codes[B, K, T] with K set by `bandwidth` (kbps).

    Build it with `EncodecCodec.from_pretrained(hub_id_or_folder)`; `from_config(layout)`
    makes a randomly initialised model of the same architecture, for tests only.
    Long audio is encoded and decoded in `chunk_seconds` pieces, each seeing `context_seconds`
    of its neighbours so the seams match a single pass closely.
    """

    def __init__(
        self,
        *,
        model,
        source: str,
        bandwidth: float | None = None,
        device: str | torch.device = "cpu",
        chunk_seconds: float = 30.0,
        context_seconds: float = 1.0,
    ):
        config = model.config
        if config.normalize or config.chunk_length_s is not None:
            raise ValueError(
                f"EnCodec model {source!r} normalizes audio per chunk (like encodec_48khz); "
                "its codes need per-chunk scales that codes[B, K, T] cannot carry. "
                "Use facebook/encodec_24khz or facebook/encodec_32khz"
            )
        bandwidths = [float(b) for b in config.target_bandwidths]
        if bandwidth is None:  # 6 kbps (K=8) where offered, as in the paper; else the largest
            bandwidth = 6.0 if 6.0 in bandwidths else max(bandwidths)
        if float(bandwidth) not in bandwidths:
            raise ValueError(
                f"bandwidth {bandwidth!r} kbps is not offered by {source!r}; pick one of "
                f"{bandwidths}"
            )
        if not chunk_seconds > 0 or context_seconds < 0:
            raise ValueError(
                f"chunk_seconds must be > 0 and context_seconds >= 0; got {chunk_seconds}, "
                f"{context_seconds}"
            )
        self.device = torch.device(device)
        self.model = model.to(self.device).eval().requires_grad_(False)
        self.source = source
        self.bandwidth = float(bandwidth)
        self.hop_length = int(math.prod(config.upsampling_ratios))
        self.sample_rate = int(config.sampling_rate)
        self.channels = int(config.audio_channels)
        self.frame_rate = self.sample_rate / self.hop_length
        self.codebook_size = int(config.codebook_size)
        self.n_q = int(model.quantizer.get_num_quantizers_for_bandwidth(self.bandwidth))
        self.chunk_frames = max(1, int(chunk_seconds * self.frame_rate))
        self.context_frames = int(context_seconds * self.frame_rate)
        self._fingerprint = fingerprint(
            *(layer.codebook.embed for layer in model.quantizer.layers[: self.n_q])
        )

    # ---- construction ----------------------------------------------------------------------
    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | Path,
        *,
        bandwidth: float | None = None,
        device: str | torch.device = "cpu",
        **kwargs,
    ) -> EncodecCodec:
        """Load pretrained EnCodec from a hub id (e.g. "facebook/encodec_24khz") or a local
        folder saved by `save` / `save_pretrained`. Extra kwargs go to the constructor.

        Raises FileNotFoundError (with what to do) when a hub id cannot be downloaded.
        """
        model, source = load_encodec_model(name_or_path)
        return cls(model=model, source=source, bandwidth=bandwidth, device=device, **kwargs)

    @classmethod
    def from_config(
        cls,
        layout: str = "24khz",
        *,
        bandwidth: float | None = None,
        device: str | torch.device = "cpu",
        seed: int = 0,
        config_overrides: dict | None = None,
        **kwargs,
    ) -> EncodecCodec:
        """A RANDOMLY INITIALISED EnCodec with the architecture of `layout` ("24khz" or
        "32khz"), for tests and debugging: its codes carry no musical meaning.

        transformers starts the codebooks at zero, which maps every frame to code 0; here each
        level's codebook is drawn around the statistics of the encoder's residual on a noise
        probe, so codes spread over the codebook. `config_overrides` changes EncodecConfig fields.
        """
        from transformers import EncodecConfig, EncodecModel

        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {sorted(LAYOUTS)}; got {layout!r}")
        config = EncodecConfig(**{**LAYOUTS[layout], **(config_overrides or {})})
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = EncodecModel(config).eval()
            _randomize_codebooks(model)
        source = f"random-init:encodec_{layout}"
        return cls(model=model, source=source, bandwidth=bandwidth, device=device, **kwargs)

    def save(self, directory: str | Path) -> Path:
        """Write a transformers folder (config.json, model.safetensors, preprocessor config)
        that `EncodecCodec.from_pretrained(directory)` loads. Returns the folder."""
        from transformers import EncodecFeatureExtractor

        directory = Path(directory)
        self.model.save_pretrained(directory)
        config = self.model.config
        EncodecFeatureExtractor(
            feature_size=config.audio_channels,
            sampling_rate=config.sampling_rate,
            chunk_length_s=config.chunk_length_s,
            overlap=config.overlap,
        ).save_pretrained(directory)
        self.source = str(directory.resolve())
        return directory

    # ---- AudioCodec surface ----------------------------------------------------------------
    def identity(self) -> dict:
        """JSON-able description; `fingerprint` hashes the used codebooks."""
        return {
            "kind": "encodec",
            "source": self.source,
            "n_q": self.n_q,
            "codebook_size": self.codebook_size,
            "sample_rate": self.sample_rate,
            "frame_rate": self.frame_rate,
            "channels": self.channels,
            "bandwidth": self.bandwidth,
            "fingerprint": self._fingerprint,
        }

    def _spans(self, num_frames: int):
        """(start, end, lo, hi): frames [start, end) are computed from frames [lo, hi)."""
        for start, end in frame_spans(num_frames, self.chunk_frames):
            lo = max(0, start - self.context_frames)
            hi = min(num_frames, end + self.context_frames)
            yield start, end, lo, hi

    @torch.no_grad()
    def encode(self, wav: torch.Tensor, sample_rate: int) -> torch.Tensor:
        """wav[B, C, S] at `sample_rate` Hz -> codes[B, K, T] long, T = ceil(S' / hop)."""
        wav = prepare_wav(
            wav, sample_rate, target_rate=self.sample_rate, target_channels=self.channels
        ).to(self.device)
        hop = self.hop_length
        t = frames_for(wav.shape[-1], hop)
        wav = torch.nn.functional.pad(wav, (0, t * hop - wav.shape[-1]))
        codes = torch.empty(wav.shape[0], self.n_q, t, dtype=torch.long, device=self.device)
        for start, end, lo, hi in self._spans(t):
            piece, _, _ = self.model.encode(
                wav[..., lo * hop : hi * hop], bandwidth=self.bandwidth, return_dict=False
            )  # (1, B, K, hi - lo)
            codes[..., start:end] = piece[0, :, :, start - lo : end - lo]
        return codes

    @torch.no_grad()
    def decode(self, codes: torch.Tensor, *, levels: int | None = None) -> torch.Tensor:
        """codes[B, K, T] -> wav[B, C, T * hop]. `levels` decodes only the first levels."""
        codes = check_codes(
            codes, n_q=self.n_q, codebook_size=self.codebook_size, levels=levels
        ).to(self.device)
        hop = self.hop_length
        b, _, t = codes.shape
        wav = torch.empty(b, self.channels, t * hop, device=self.device)
        for start, end, lo, hi in self._spans(t):
            (piece,) = self.model.decode(codes[None, ..., lo:hi], [None], return_dict=False)
            wav[..., start * hop : end * hop] = piece[..., (start - lo) * hop : (end - lo) * hop]
        return wav


@torch.no_grad()
def _randomize_codebooks(model) -> None:
    """Draw each RVQ level's codebook ~ N(mean, std) of what that level sees on a noise probe."""
    config = model.config
    probe = 0.1 * torch.randn(1, config.audio_channels, config.sampling_rate // 2)
    residual = model.encoder(probe)[0].T  # (T, D)
    for layer in model.quantizer.layers:
        codebook = layer.codebook
        mean, std = residual.mean(0), residual.std(0).clamp_min(1e-6)
        codebook.embed.copy_(mean + std * torch.randn_like(codebook.embed))
        codebook.embed_avg.copy_(codebook.embed)
        residual = residual - codebook.embed[codebook.quantize(residual)]
