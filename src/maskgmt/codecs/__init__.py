"""Audio codecs behind the `AudioCodec` protocol: EnCodec and a fitted spectral RVQ codec."""

from maskgmt.codecs.base import AudioCodec
from maskgmt.codecs.checks import check_same_codec
from maskgmt.codecs.codes_file import load_codes, save_codes
from maskgmt.codecs.encodec import EncodecCodec
from maskgmt.codecs.loading import load_codec
from maskgmt.codecs.spectral import SpectralCodec, SpectralCodecConfig

__all__ = [
    "AudioCodec",
    "EncodecCodec",
    "SpectralCodec",
    "SpectralCodecConfig",
    "check_same_codec",
    "load_codec",
    "load_codes",
    "save_codes",
]
