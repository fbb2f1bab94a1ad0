"""`load_codec`: the right `AudioCodec` for a short name, an EnCodec hub id or a saved folder."""

from __future__ import annotations

from pathlib import Path

from maskgmt.codecs.base import AudioCodec
from maskgmt.codecs.encodec import HUB_IDS
from maskgmt.codecs.hub import looks_like_hub_id
from maskgmt.codecs.spectral import CONFIG_NAME as SPECTRAL_CONFIG

# Short names users may type, and the hub ids they stand for.
SHORT_NAMES: dict[str, str] = {f"encodec_{layout}": hub_id for layout, hub_id in HUB_IDS.items()}

ACCEPTED = (
    f"Accepted: a short name ({', '.join(sorted(SHORT_NAMES))}), an EnCodec hub id such as "
    "'facebook/encodec_24khz', a folder saved by EncodecCodec.save / save_pretrained, "
    "or a SpectralCodec folder made by `maskgmt codec fit`"
)


def load_codec(name_or_path: str | Path, **kwargs) -> AudioCodec:
    """Load a codec by short name, EnCodec hub id, transformers EnCodec folder, or saved
    SpectralCodec folder. kwargs go to the loader (`device`; `bandwidth` for EnCodec).

    Raises ValueError listing what is accepted for an unknown name, FileNotFoundError for a
    missing folder or a hub id that cannot be downloaded.
    """
    from maskgmt.codecs.encodec import EncodecCodec
    from maskgmt.codecs.spectral import SpectralCodec

    if not isinstance(name_or_path, (str, Path)) or not str(name_or_path).strip():
        raise ValueError(f"codec must be a name or folder; got {name_or_path!r}. {ACCEPTED}")
    path = Path(name_or_path)
    if path.is_dir():
        if (path / SPECTRAL_CONFIG).is_file():
            if "bandwidth" in kwargs:
                raise ValueError("bandwidth applies to EnCodec only; a SpectralCodec has fixed n_q")
            return SpectralCodec.load(path, **kwargs)
        if (path / "config.json").is_file():
            return EncodecCodec.from_pretrained(path, **kwargs)
        raise ValueError(
            f"folder {str(path)!r} holds neither {SPECTRAL_CONFIG} (SpectralCodec) nor "
            f"config.json (EnCodec). {ACCEPTED}"
        )
    name = str(name_or_path)
    if name in SHORT_NAMES:
        return EncodecCodec.from_pretrained(SHORT_NAMES[name], **kwargs)
    if path.exists():
        raise ValueError(f"{name!r} is a file, not a codec folder. {ACCEPTED}")
    if looks_like_hub_id(name):
        return EncodecCodec.from_pretrained(name, **kwargs)
    if "/" in name or "\\" in name or name.startswith((".", "~")):
        raise FileNotFoundError(f"codec folder {name!r} does not exist. {ACCEPTED}")
    raise ValueError(f"unknown codec {name!r}. {ACCEPTED}")
