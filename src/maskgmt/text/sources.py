"""Where pretrained text-encoder files come from: a local folder, the HF cache, or the Hub."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

# "t5-base", "google/flan-t5-base": one optional namespace, no leading dot or slash.
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
_TRUE = {"1", "true", "yes", "on"}


class WrongModelError(ValueError):
    """The files load, but hold a different architecture than the encoder asked for."""


def looks_like_hub_id(text: str) -> bool:
    """'t5-base' or 'google/flan-t5-base' (at most one slash, no leading dot): not a path."""
    return bool(_HUB_ID.match(text))


def as_local_folder(name_or_path: str | os.PathLike) -> Path | None:
    """An existing folder -> its resolved Path; a hub id -> None.

    Raises FileNotFoundError for something that can only be a path (absolute, `./x`, `~/x`,
    `a/b/c`) but does not exist, and for an existing file that is not a folder.
    """
    if not isinstance(name_or_path, str | os.PathLike) or not str(name_or_path).strip():
        raise ValueError(
            f"Expected a hub id such as 't5-base' or a model folder, got {name_or_path!r}."
        )
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return path.resolve()
    if path.exists():
        raise FileNotFoundError(
            f"{str(path)!r} is a file; pass the folder holding config.json and the weights."
        )
    if isinstance(name_or_path, os.PathLike) or not looks_like_hub_id(str(name_or_path)):
        raise FileNotFoundError(
            f"Folder {str(path)!r} does not exist; pass a folder written by save_pretrained "
            "(config.json, weights, tokenizer files) or a hub id such as 't5-base'."
        )
    return None


def hub_is_offline() -> bool:
    """True where the user asked transformers / huggingface_hub never to reach the network."""
    for variable in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(variable, "").strip().lower() in _TRUE:
            return True
    try:
        from huggingface_hub import constants
    except ImportError:
        return False
    return bool(getattr(constants, "HF_HUB_OFFLINE", False))


def hub_is_reachable(timeout: float = 3.0) -> bool:
    """One quick request to the Hub. False on any connection failure, so a missing network is
    reported in seconds instead of after transformers' retries with back-off."""
    try:
        from huggingface_hub import constants, get_session
    except ImportError:
        return False
    try:
        get_session().head(constants.ENDPOINT, timeout=timeout)
    except Exception:  # the HTTP client's error classes differ between versions
        return False
    return True


def load_pretrained(
    load: Callable[[str, bool], T], name_or_path: str | os.PathLike, *, what: str
) -> T:
    """Run `load(source, local_files_only)` on a local folder, else on a hub id.

    A hub id is tried in the local HF cache first; the network is used only when the Hub is
    reachable and not switched off. Every failure is a FileNotFoundError that says what to do.
    """
    folder = as_local_folder(name_or_path)
    if folder is not None:
        try:
            return load(str(folder), True)
        except WrongModelError:
            raise
        except (OSError, ValueError) as err:
            raise FileNotFoundError(
                f"Could not load {what} from folder {str(folder)!r}: {_first_line(err)}. The "
                "folder needs config.json, the weights (model.safetensors) and the tokenizer "
                "files, as written by save_pretrained."
            ) from None
    hub_id = str(name_or_path)
    try:
        return load(hub_id, True)
    except WrongModelError:
        raise
    except (OSError, ValueError):
        pass  # not in the local cache: try the Hub below
    offline = hub_is_offline()
    if offline or not hub_is_reachable():
        reason = (
            "offline mode is on (HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE)"
            if offline
            else "the Hugging Face Hub cannot be reached"
        )
        raise FileNotFoundError(
            f"{what} {hub_id!r} is not a local folder nor in the Hugging Face cache, and {reason}. "
            f"On a machine with internet run `huggingface-cli download {hub_id} --local-dir DIR`, "
            "copy DIR here and pass the local folder DIR instead (or use 'minilm', which needs "
            "no download)."
        )
    try:
        return load(hub_id, False)
    except WrongModelError:
        raise
    except (OSError, ValueError) as err:
        raise FileNotFoundError(
            f"Could not download {what} {hub_id!r} from the Hugging Face Hub: "
            f"{_first_line(err)}. Check the id (e.g. 't5-base', 'google/flan-t5-base') or pass "
            "a local folder."
        ) from None


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
