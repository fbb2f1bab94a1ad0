"""Loading transformers EnCodec weights from a local folder or the hub, failing fast offline."""

from __future__ import annotations

import json
from pathlib import Path

# Seconds to wait for the hub before saying it cannot be reached.
_PROBE_TIMEOUT_S = 10.0


def looks_like_hub_id(name: str) -> bool:
    """'org/name' with no path-like parts (relative folders must exist to be taken as folders)."""
    parts = name.split("/")
    return (
        len(parts) == 2
        and all(parts)
        and not name.startswith((".", "~"))
        and not any(p in (".", "..") for p in parts)
    )


def load_encodec_model(name_or_path: str | Path):
    """-> (transformers.EncodecModel in eval mode, source string: hub id or resolved folder).

    A local folder must hold a transformers EnCodec `config.json` and weights. A hub id is
    taken from the local cache when there, else downloaded; with no network this raises
    FileNotFoundError within seconds (one probe, no retries) saying to pass a local folder.
    """
    from transformers import EncodecModel

    path = Path(name_or_path)
    if path.is_dir():
        _check_encodec_folder(path)
        try:
            model = EncodecModel.from_pretrained(path)
        except (OSError, ValueError) as e:
            raise ValueError(f"could not load EnCodec weights from {str(path)!r}: {e}") from None
        return model.eval(), str(path.resolve())
    name = str(name_or_path)
    if not looks_like_hub_id(name):
        raise FileNotFoundError(
            f"EnCodec folder {name!r} does not exist, and it is not a hub id like "
            "'facebook/encodec_24khz'; check the path"
        )
    try:  # the cache first: works offline once downloaded
        return EncodecModel.from_pretrained(name, local_files_only=True).eval(), name
    except OSError:
        pass
    _probe_hub(name)
    try:
        model = EncodecModel.from_pretrained(name)
    except OSError as e:
        raise _download_error(name, str(e)) from None
    if getattr(model.config, "model_type", None) != "encodec":
        raise ValueError(f"hub model {name!r} is not an EnCodec model")
    return model.eval(), name


def _check_encodec_folder(path: Path) -> None:
    config_path = path / "config.json"
    if not config_path.is_file():
        raise FileNotFoundError(
            f"{str(path)!r} has no config.json; pass a folder saved by EncodecCodec.save or "
            "EncodecModel.save_pretrained, or a hub id like 'facebook/encodec_24khz'"
        )
    try:
        model_type = json.loads(config_path.read_text()).get("model_type")
    except (json.JSONDecodeError, AttributeError) as e:
        raise ValueError(f"{str(config_path)!r} is not valid JSON: {e}") from None
    if model_type != "encodec":
        raise ValueError(
            f"{str(path)!r} holds a {model_type!r} model, not an EnCodec one (model_type 'encodec')"
        )


def _probe_hub(repo_id: str) -> None:
    """One quick request for the repo's config.json; raises FileNotFoundError if it fails.

    transformers' own download retries a dead connection for ~30 s; this answers in seconds.
    """
    import huggingface_hub
    from huggingface_hub import constants, errors

    if constants.HF_HUB_OFFLINE:
        raise _download_error(repo_id, "HF_HUB_OFFLINE is set and it is not in the local cache")
    url = huggingface_hub.hf_hub_url(repo_id, "config.json", endpoint=constants.ENDPOINT)
    try:
        huggingface_hub.get_hf_file_metadata(url, timeout=_PROBE_TIMEOUT_S)
    except (errors.RepositoryNotFoundError, errors.GatedRepoError) as e:
        raise FileNotFoundError(
            f"hub repo {repo_id!r} was not found or needs access rights ({type(e).__name__}); "
            "check the id (e.g. 'facebook/encodec_24khz') or pass a local folder"
        ) from None
    except errors.EntryNotFoundError:
        raise ValueError(
            f"hub repo {repo_id!r} has no config.json; it is not an EnCodec model"
        ) from None
    except Exception as e:  # connection errors differ between huggingface_hub versions
        raise _download_error(repo_id, f"{type(e).__name__}: {e}") from None


def _download_error(repo_id: str, why: str) -> FileNotFoundError:
    return FileNotFoundError(
        f"could not download {repo_id!r} from the Hugging Face hub ({why}); pass a local folder "
        "holding its files instead (download it once where there is network, e.g. "
        f"`huggingface-cli download {repo_id} --local-dir DIR`, then use DIR), or use the "
        "offline spectral codec (`maskgmt codec fit`)"
    )
