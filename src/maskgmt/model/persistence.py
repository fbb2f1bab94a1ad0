"""Save and load a `MaskGmt` as config.json + model.safetensors (never pickle), local or hub."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors.torch import load_file, save_file

from maskgmt.model.config import BackboneConfig, MaskGmtConfig
from maskgmt.model.critic import TokenCritic
from maskgmt.model.transformer import MaskGmtTransformer

if TYPE_CHECKING:
    from maskgmt.model.maskgmt import MaskGmt

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
FORMAT = "maskgmt"
FORMAT_VERSION = 1


def save_pretrained(model: MaskGmt, directory: str | Path) -> Path:
    """Write `directory`/config.json (all constructor arguments + metadata), model.safetensors."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    critic = model.token_critic
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "transformer": model.transformer.config.to_dict(),
        "token_critic": None if critic is None else critic.config.to_dict(),
        "maskgmt": model.config.to_dict(),
        "metadata": model.metadata,
    }
    try:
        text = json.dumps(config, indent=2, sort_keys=True)
    except TypeError as err:
        raise ValueError(
            f"metadata: expected JSON-able values (str, numbers, lists, dicts), got: {err}"
        ) from None
    state = {
        name: tensor.detach().contiguous().cpu() for name, tensor in model.state_dict().items()
    }
    # Write beside the targets, then rename: a crash never leaves a half-written model folder.
    for name, write in (
        (WEIGHTS_NAME, lambda p: save_file(state, p, metadata={"format": "pt"})),
        (CONFIG_NAME, lambda p: Path(p).write_text(text + "\n")),
    ):
        tmp = directory / f".{name}.tmp"
        write(str(tmp))
        os.replace(tmp, directory / name)
    return directory


def push_to_hub(
    model: MaskGmt, repo_id: str, *, private: bool = False, token: str | None = None
) -> str:
    """Upload config.json + model.safetensors to the hub repo `repo_id` -> the repo's URL."""
    import tempfile

    from huggingface_hub import HfApi

    api = HfApi(token=token)
    url = api.create_repo(repo_id, private=private, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        save_pretrained(model, tmp)
        api.upload_folder(repo_id=repo_id, folder_path=tmp, commit_message="Upload maskgmt model")
    return str(url)


def resolve_model_dir(name_or_path: str | Path) -> Path:
    """A local folder as is; otherwise a hub repo id is downloaded (config + weights only)."""
    path = Path(name_or_path)
    if path.is_dir():
        return path
    name = str(name_or_path)
    if path.exists():
        raise ValueError(
            f"name_or_path: {name!r} is a file, not a model folder; pass the folder that holds "
            f"{CONFIG_NAME} and {WEIGHTS_NAME}"
        )
    looks_like_repo = (
        name.count("/") == 1 and not name.startswith((".", "/", "~")) and not path.exists()
    )
    if not looks_like_repo:
        raise FileNotFoundError(
            f"name_or_path: model folder {name!r} does not exist; pass a folder written by "
            "save_pretrained or a hub repo id such as 'user/maskgmt-small'"
        )
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo_id=name, allow_patterns=[CONFIG_NAME, WEIGHTS_NAME]))
    except Exception as err:  # offline, unknown repo, no permission: one clear message for all
        raise FileNotFoundError(
            f"name_or_path: {name!r} is not a local folder and could not be fetched from the "
            f"Hugging Face hub ({type(err).__name__}: {err})"
        ) from None


def load_pretrained(
    cls: type[MaskGmt],
    name_or_path: str | Path,
    *,
    device: str | torch.device,
    text_encoder: Any | None,
) -> MaskGmt:
    """Rebuild a `cls` (MaskGmt, passed in so this module never imports it) from config.json,
    load model.safetensors strictly, move to `device`, eval mode."""
    directory = resolve_model_dir(name_or_path)
    config_path, weights_path = directory / CONFIG_NAME, directory / WEIGHTS_NAME
    for path in (config_path, weights_path):
        if not path.is_file():
            raise FileNotFoundError(
                f"{path}: missing; a model folder needs {CONFIG_NAME} and {WEIGHTS_NAME}"
            )
    config = _read_config(config_path)
    where = str(config_path)
    tc = BackboneConfig.from_dict(config.get("transformer"), where=f"{where} [transformer]")
    critic_cfg = config.get("token_critic")
    cc = None if critic_cfg is None else BackboneConfig.from_dict(
        critic_cfg, where=f"{where} [token_critic]")  # fmt: skip
    mc = MaskGmtConfig.from_dict(config.get("maskgmt"), where=f"{where} [maskgmt]")
    model = cls(
        transformer=MaskGmtTransformer.from_config(tc),
        token_critic=None if cc is None else TokenCritic.from_config(cc),
        text_encoder=text_encoder,
        metadata=config.get("metadata") or {},
        **mc.to_dict(),
    )
    state = _read_weights(weights_path)
    _check_state(state, model.state_dict(), weights_path)
    model.load_state_dict(state)
    return model.to(device).eval()


def _read_config(config_path: Path) -> dict[str, Any]:
    """config.json -> its dict, refusing invalid JSON, another format, or another version."""
    try:
        config = json.loads(config_path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{config_path}: not valid JSON ({err})") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ValueError(
            f'{config_path}: expected a maskgmt config ("format": "{FORMAT}"), got another file'
        )
    if config.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{config_path}: expected format_version {FORMAT_VERSION}, "
            f"got {config.get('format_version')!r}; "
            "upgrade maskgmt"
        )
    return config


def _check_state(
    state: dict[str, torch.Tensor], expected: dict[str, torch.Tensor], weights_path: Path
) -> None:
    """Refuse weights whose names or shapes differ from the model's, or that hold NaN/inf."""
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = [
        f"{n} {tuple(state[n].shape)} != {tuple(t.shape)}"
        for n, t in expected.items()
        if n in state and state[n].shape != t.shape
    ]
    if missing or unexpected or wrong:
        raise ValueError(
            f"{weights_path}: does not match {CONFIG_NAME}: missing {missing[:5]}, "
            f"unexpected {unexpected[:5]}, "
            f"wrong shapes {wrong[:5]}; the two files come from different models"
        )
    bad = [
        n
        for n, t in state.items()
        if (t.is_floating_point() or t.is_complex()) and not bool(torch.isfinite(t).all())
    ]
    if bad:
        raise ValueError(
            f"{weights_path}: {len(bad)} weight tensor(s) hold NaN or inf values (first: "
            f"{bad[0]}); the weights are corrupt (training diverged?): retrain, or export an "
            "earlier checkpoint"
        )


def _read_weights(weights_path: Path) -> dict[str, torch.Tensor]:
    """load_file, with a truncated or garbage file reported as one ValueError naming it."""
    from safetensors import SafetensorError

    try:
        return load_file(str(weights_path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise ValueError(
            f"{weights_path}: not a readable safetensors file ({err}); it is truncated or "
            "corrupt: copy the model folder again from where it was trained"
        ) from None
