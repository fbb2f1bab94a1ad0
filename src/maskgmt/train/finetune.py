"""`train(init=MODEL_DIR)`: start a new run from a model folder's weights (fine-tuning).

Only the weights come from the folder: the optimizer, LR schedule, EMA and step counter start
fresh, and the run's config gives everything else (masking, caption dropout, level weights...).
The folder must fit the run:

- its codec identity (config.json metadata.codec, with the fingerprint) must be the token
  cache's codec: codes of another codec mean other sounds;
- its text encoder must be the one the run embeds captions with;
- its architecture (width, depth, heads, head width, feed-forward size, pooled text, the
  self-critic head, codes and levels, text width) must be the run's: set the folder's sizes in
  the run's `--config`.

Caption cues (the tempo clock, the key cue) a run may add to a folder without them; a folder's
own cues the run keeps, whatever its config says (`keep_cues`): they are part of what the
folder's weights compute, and `maskgmt train --init` of the shipped model then needs no config.

The position table `pos_emb[seq_len, D]` is the one thing allowed to differ in size: the crop of
the run (`data.crop_seconds`) may be shorter or longer than the folder's. The overlapping rows
are copied; rows past the folder's length (a longer crop) keep their fresh initialisation and
are learned by the fine-tuning. (Self-attention's rotary positions have no weights.)
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from pathlib import Path
from typing import Any

import torch

from maskgmt.model import MaskGmt

# Backbone fields that must agree, and what sets each on the run's side.
_FROM_CONFIG = ("dim", "depth", "heads", "dim_head", "ff_mult", "pooled_text")
_FROM_CODEC = ("num_tokens", "n_q")
_POS_EMB = "pos_emb"
# Caption cues: their `model:` keys in the training config -> what messages call them.
CUES = {"tempo_clock": "tempo clock", "key_cue": "key cue"}
# Projections a run may add to a folder without them (model/backbone.py): they start at zero.
_ADDABLE = {"clock_proj.weight": CUES["tempo_clock"], "key_proj.weight": CUES["key_cue"]}

# In the run folder of a run started with `init=`: {"init_from": the model folder or hub id}.
INIT_FILE = "init.json"


def load_init_model(init: str | Path) -> MaskGmt:
    """The model of folder (or hub id) `init`, on CPU; a ValueError if it is not one."""
    return MaskGmt.from_pretrained(init, device="cpu")


def init_source(init: str | Path) -> str:
    """What the model folder's training summary records as "init_from": a local folder as an
    absolute path, a hub id as given."""
    path = Path(init)
    return str(path.resolve()) if path.is_dir() else str(init)


def recorded_init(out_dir: Path, init: str | Path | None, resume: bool) -> str | None:
    """The model folder this run started from: `init`, or on resume what the run recorded."""
    if init is not None:
        return init_source(init)
    file = out_dir / INIT_FILE
    if resume and file.is_file():
        with contextlib.suppress(ValueError, OSError, AttributeError):
            return json.loads(file.read_text()).get("init_from")
    return None


def write_init_record(out_dir: Path, init_from: str | None, *, init: bool, resume: bool) -> None:
    """Main process: record `init_from` in the run folder (so the model folder of a resumed run
    records it too), or drop a stale record of an earlier attempt in this folder."""
    if init:
        (out_dir / INIT_FILE).write_text(json.dumps({"init_from": init_from}) + "\n")
    elif not resume:
        (out_dir / INIT_FILE).unlink(missing_ok=True)


def check_init_codec(source: MaskGmt, cache_codec: dict[str, Any], *, init: Any, data: Any) -> None:
    """Refuse a model folder whose recorded codec is not the token cache's, naming both."""
    from maskgmt.codecs.checks import identity_mismatch

    folder_codec = (source.metadata or {}).get("codec")
    if not isinstance(folder_codec, dict):
        raise ValueError(
            f"--init: model folder {str(init)!r} does not record its codec (config.json "
            "metadata.codec), so it cannot be checked against the token cache's; use a folder "
            "written by `maskgmt train`"
        )
    diffs = identity_mismatch(folder_codec, cache_codec)
    if diffs:
        src = folder_codec.get("source")
        codec_arg = f"{init}/codec" if src == "codec" else src
        raise ValueError(
            f"--init: model folder {str(init)!r} was trained on codec {src!r} "
            f"({folder_codec.get('kind')}) but token cache {str(data)!r} was made by codec "
            f"{cache_codec.get('source')!r} ({cache_codec.get('kind')}): {'; '.join(diffs)} "
            "(expected: the model's). "
            f"Prepare your audio with the model's codec: maskgmt prepare MANIFEST --codec "
            f"{codec_arg} --out CACHE"
        )


def check_init_text_encoder(source: MaskGmt, text_name: str, *, init: Any) -> None:
    """Refuse a model folder trained with another text encoder than this run's captions use."""
    folder = source.config.text_encoder_name
    if folder != text_name:
        raise ValueError(
            f"--init: model folder {str(init)!r} was trained with text encoder {folder!r} but "
            f"this run embeds captions with {text_name!r}; prepare the cache with "
            f"`--text-encoder {folder}` (or, for a cache without embeddings, set "
            f"`model: {{text_encoder: {folder}}}` in --config)"
        )


def architecture_mismatch(model: MaskGmt, source: MaskGmt) -> list[str]:
    """'field (run X, folder Y)' for each size or option in which the two models differ,
    seq_len aside (see `load_init_weights`)."""
    run, folder = model.transformer.config.to_dict(), source.transformer.config.to_dict()
    out = [
        f"{key} (run {run[key]!r}, folder {folder[key]!r})"
        for key in (*_FROM_CONFIG, *_FROM_CODEC, "text_dim")
        if run[key] != folder[key]
    ]
    a, b = model.config.self_token_critic, source.config.self_token_critic
    if a != b:
        out.append(f"self_token_critic (run {a!r}, folder {b!r})")
    # A run may add a cue to a folder without one (it starts at zero), never drop one.
    if folder["clock_frame_rate"] > 0 and run["clock_frame_rate"] != folder["clock_frame_rate"]:
        out.append(f"tempo_clock (run {run['clock_frame_rate'] > 0}, folder True)")
    if folder["key_cue"] and not run["key_cue"]:
        out.append("key_cue (run False, folder True)")
    return out


def check_init_architecture(model: MaskGmt, source: MaskGmt, *, init: Any) -> None:
    """Refuse a folder of another architecture, naming the fields and the --config to use."""
    if source.token_critic is not None:
        raise ValueError(
            f"--init: model folder {str(init)!r} has a separate token critic network, which "
            "`maskgmt train` does not train; fine-tune a folder without one (a self-critic "
            "head, `model: {self_token_critic: true}`, is fine)"
        )
    diffs = architecture_mismatch(model, source)
    if not diffs:
        return
    folder = source.transformer.config.to_dict()
    sizes = {k: folder[k] for k in _FROM_CONFIG}
    sizes["self_token_critic"] = source.config.self_token_critic
    yaml = ", ".join(
        f"{k}: {str(v).lower() if isinstance(v, bool) else v}" for k, v in sizes.items()
    )
    raise ValueError(
        f"--init: this run's model differs from model folder {str(init)!r} in "
        f"{', '.join(diffs)}; fine-tuning keeps the folder's architecture: use the folder's "
        f"sizes, e.g. pass a --config holding `model: {{{yaml}}}` (codes, levels and text width "
        "come from the token cache: prepare it with the model's codec and text encoder)"
    )


def load_init_weights(model: MaskGmt, source: MaskGmt) -> str | None:
    """Copy `source`'s weights into `model` (same names and shapes, checked before), in place.

    Position tables of another length are copied over their overlapping rows. Returns a note
    saying so, or None when every tensor had the same shape.
    """
    state = source.state_dict()
    target = model.state_dict()
    added = sorted(n for n in set(target) - set(state) if n.endswith(tuple(_ADDABLE)))
    missing = sorted(set(target) - set(state) - set(added))
    unexpected = sorted(set(state) - set(target))
    note = None
    if added:
        names = " and ".join(_ADDABLE[n.split(".")[-2] + ".weight"] for n in added)
        note = f"the folder has no {names}: this run's starts at zero"
    fitted: dict[str, torch.Tensor] = {}
    wrong = []
    for name, tensor in target.items():
        if name not in state:
            fitted[name] = tensor  # an added clock keeps its zero init
            continue
        value = state[name]
        if value.shape != tensor.shape:
            if name.split(".")[-1] == _POS_EMB and value.shape[1:] == tensor.shape[1:]:
                rows = min(value.shape[0], tensor.shape[0])
                merged = tensor.detach().clone()
                merged[:rows] = value[:rows].to(merged.dtype)
                value = merged
                note = (
                    f"the folder's position table covers {state[name].shape[0]} frames and this "
                    f"run's crop {tensor.shape[0]}: copied the first {rows}"
                    + (
                        f", frames {rows}..{tensor.shape[0] - 1} start untrained"
                        if rows < tensor.shape[0]
                        else ""
                    )
                )
            else:
                wrong.append(f"{name} {tuple(value.shape)} != {tuple(tensor.shape)}")
        fitted[name] = value
    if missing or unexpected or wrong:  # architecture_mismatch should have named the cause
        raise ValueError(
            f"--init: the folder's weights do not fit this run's model: missing {missing[:5]}, "
            f"unexpected {unexpected[:5]}, wrong shapes {wrong[:5]}"
        )
    model.load_state_dict(fitted, strict=True)
    return note


def cues_to_keep(source: MaskGmt | None, out_dir: Path, *, resuming: bool) -> set[str]:
    """The caption cues (`CUES` keys) a run must keep: those of its --init folder, or, when it
    resumes, those its own config.yaml trained with."""
    if source is not None:
        config = source.transformer.config
        return {cue for cue, on in [("tempo_clock", config.clock_frame_rate > 0),
                                    ("key_cue", config.key_cue)] if on}  # fmt: skip
    path = Path(out_dir) / "config.yaml"
    if not resuming or not path.is_file():
        return set()
    import yaml

    model = (yaml.safe_load(path.read_text()) or {}).get("model") or {}
    return {cue for cue in CUES if model.get(cue) is True}


def keep_cues(cfg: Any, cues: set[str], *, owner: str = "the folder's") -> tuple[Any, str | None]:
    """cfg (a TrainConfig) with `cues` switched on -> (cfg, a note naming those it switched on
    as `owner`'s, or None when the config had them all)."""
    added = sorted(cue for cue in cues if not getattr(cfg.model, cue))
    if not added:
        return cfg, None
    model = dataclasses.replace(cfg.model, **dict.fromkeys(added, True))
    names = " and ".join(CUES[cue] for cue in added)
    keys = ", ".join(f"{cue}: true" for cue in added)
    note = f"keeping {owner} {names} (model: {{{keys}}})"
    return dataclasses.replace(cfg, model=model), note
