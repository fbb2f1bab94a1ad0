"""The token cache on disk: its info file, atomic finalising, loading, and merging shards."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import datasets

INFO_FILE = "cache_info.json"  # written last: its presence means the cache is complete
SKIPPED_FILE = "skipped.jsonl"  # one {"audio", "text", "index", "reason"} object per skipped clip
FORMAT_VERSION = 1
_DATASET_FILES = ("state.json", "dataset_info.json")  # what `save_to_disk` writes besides *.arrow


@dataclass(frozen=True)
class CacheInfo:
    """What `cache_info.json` records about a token cache (codes come from exactly one codec)."""

    codec: dict  # codec.identity(): decoding with another codec is refused by comparing this
    n_q: int  # K, levels per frame in `codes`
    codebook_size: int  # V, codes per level
    frame_rate: float  # code frames per second
    sample_rate: int  # Hz of the audio the codec decodes to
    num_clips: int  # rows in the dataset
    num_skipped: int  # clips listed in skipped.jsonl
    seconds: float  # total audio kept, in seconds
    frames: int  # total code frames kept (sum of T)
    text_encoder: str | None = None  # name for load_text_encoder when `text_embeds` is cached
    text_dim: int | None = None  # D of the cached `text_embeds`
    # One entry per prepare run that made this cache (several after merging shards): manifest
    # fingerprint, shard, settings. A rerun compares against it to resume or refuse.
    sources: tuple[dict, ...] = field(default_factory=tuple)
    version: int = FORMAT_VERSION

    def to_json(self) -> dict:
        return {**asdict(self), "sources": list(self.sources)}

    @classmethod
    def from_json(cls, data: dict, *, where: str) -> CacheInfo:
        names = {f.name for f in fields(cls)}
        missing = [
            f.name
            for f in fields(cls)
            if f.default is MISSING and f.default_factory is MISSING and f.name not in data
        ]
        if missing:
            raise ValueError(f"{where}: missing {missing}; is this a maskgmt token cache?")
        if data.get("version", FORMAT_VERSION) > FORMAT_VERSION:
            raise ValueError(
                f"{where}: cache format version {data['version']} is newer than this maskgmt "
                f"reads ({FORMAT_VERSION}); upgrade maskgmt or prepare the cache again"
            )
        kept = {k: v for k, v in data.items() if k in names}
        kept["sources"] = tuple(kept.get("sources", ()))
        return cls(**kept)


# ----------------------------------------------------------------------------- loading


def read_json_file(path: Path, fix: str = "restore it, or make the folder again") -> Any:
    """json.loads of a file, with a damaged file reported as one ValueError naming it."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{str(path)!r} is not valid JSON ({e}); {fix}") from None


def read_info(cache_dir: str | Path) -> CacheInfo:
    """The `CacheInfo` of a complete cache folder (FileNotFoundError if there is none)."""
    path = Path(cache_dir) / INFO_FILE
    if not path.is_file():
        raise FileNotFoundError(_not_a_cache_message(Path(cache_dir)))
    return CacheInfo.from_json(
        read_json_file(path, "the cache is damaged: run `maskgmt prepare` into a new --out"),
        where=str(path),
    )


def load_cache(cache_dir: str | Path) -> tuple[datasets.Dataset, CacheInfo]:
    """Open a token cache: (memory-mapped `datasets.Dataset`, its `CacheInfo`).

    `cache_dir` is a folder written by `prepare_cache` or `merge_caches`, or a folder whose
    subfolders are shard caches of one corpus (`prepare --num-shards N`), which are then
    concatenated in shard order without copying. Columns: `codes` int16 [K, T], `num_frames`
    (T), `text`, `duration` (s), `audio` (path), the manifest's other fields, and
    `text_embeds` float16 [L, D] + `text_len` (L) when text embeddings were cached.
    """
    cache_dir = Path(cache_dir)
    if (cache_dir / INFO_FILE).is_file():
        return _load_one(cache_dir)
    shard_dirs = [p for p in sorted(cache_dir.glob("*")) if (p / INFO_FILE).is_file()]
    if not shard_dirs:
        raise FileNotFoundError(_not_a_cache_message(cache_dir))
    parts = [_load_one(d) for d in shard_dirs]
    parts = _ordered_and_checked(parts, [str(d) for d in shard_dirs])
    dataset = datasets.concatenate_datasets([ds for ds, _ in parts])
    return dataset, _combined_info([info for _, info in parts])


def read_skipped(cache_dir: str | Path) -> list[dict]:
    """The skipped-clip records of a cache (empty list when nothing was skipped)."""
    path = Path(cache_dir) / SKIPPED_FILE
    if not path.is_file():
        return []
    records = []
    for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise ValueError(
                    f"{str(path)}:{no} is not valid JSON ({e}); the cache is damaged: run "
                    "`maskgmt prepare` into a new --out"
                ) from None
    return records


def merge_caches(
    cache_dirs: Sequence[str | Path], out_dir: str | Path, *, progress: bool = True
) -> CacheInfo:
    """Combine shard caches (or any caches made with the same codec) into one cache at `out_dir`.

    Shards of one manifest are put back in shard order, so merging the shards of a sharded
    prepare gives the same rows, in the same order, as one unsharded run. Raises ValueError if
    the caches come from different codecs or text encoders, if a shard is given twice, or if
    shards of a manifest are missing.
    """
    if not cache_dirs:
        raise ValueError("merge_caches: cache_dirs is empty; pass the shard folders to combine")
    out_dir = Path(out_dir)
    parts = [_load_one(Path(d)) for d in cache_dirs]
    parts = _ordered_and_checked(parts, [str(d) for d in cache_dirs])
    skipped = [rec for d in cache_dirs for rec in read_skipped(d)]
    if (out_dir / INFO_FILE).exists():
        raise ValueError(f"merge_caches: {str(out_dir)!r} already holds a cache; pick a new folder")
    dataset = datasets.concatenate_datasets([ds for ds, _ in parts])
    info = _combined_info([info for _, info in parts])
    write_cache(dataset, info, skipped, out_dir, progress=progress)
    return info


# ----------------------------------------------------------------------------- writing


def write_cache(
    dataset: datasets.Dataset,
    info: CacheInfo,
    skipped: list[dict],
    out_dir: Path,
    *,
    progress: bool = True,
) -> None:
    """Write `dataset` + skipped.jsonl + cache_info.json into `out_dir`, crash-safely.

    The Arrow files go through a staging folder; `cache_info.json` is renamed into place last,
    so a folder without it is never taken for a cache, and a killed run can simply be redone.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = out_dir / ".staging"
    shutil.rmtree(staging, ignore_errors=True)
    with datasets_progress(progress):
        dataset.save_to_disk(str(staging))
    for old in [*out_dir.glob("data-*.arrow"), *(out_dir / n for n in _DATASET_FILES)]:
        old.unlink(missing_ok=True)
    for new in sorted(staging.iterdir(), key=lambda p: p.name == "state.json"):
        os.replace(new, out_dir / new.name)  # state.json last: the dataset is whole before it
    staging.rmdir()
    atomic_write_text(out_dir / SKIPPED_FILE, "".join(json.dumps(rec) + "\n" for rec in skipped))
    atomic_write_text(out_dir / INFO_FILE, json.dumps(info.to_json(), indent=2) + "\n")


def atomic_write_text(path: Path, text: str) -> None:
    """Write `text` to `path` so that readers see the old file or the new one, never a part."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with tmp.open("w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


@contextlib.contextmanager
def datasets_progress(enabled: bool) -> Iterator[None]:
    """Turn the `datasets` library's own progress bars on or off for a block, then restore."""
    was_enabled = datasets.is_progress_bar_enabled()
    if enabled:
        datasets.enable_progress_bars()
    else:
        datasets.disable_progress_bars()
    try:
        yield
    finally:
        if was_enabled:
            datasets.enable_progress_bars()
        else:
            datasets.disable_progress_bars()


# ----------------------------------------------------------------------------- helpers


def _load_one(cache_dir: Path) -> tuple[datasets.Dataset, CacheInfo]:
    info = read_info(cache_dir)
    dataset = datasets.load_from_disk(str(cache_dir), keep_in_memory=False)
    if len(dataset) != info.num_clips:
        raise ValueError(
            f"token cache {str(cache_dir)!r} has {len(dataset)} rows but {INFO_FILE} says "
            f"{info.num_clips}; the folder was changed by hand; prepare it again"
        )
    return dataset, info


def _ordered_and_checked(
    parts: list[tuple[datasets.Dataset, CacheInfo]], names: list[str]
) -> list[tuple[datasets.Dataset, CacheInfo]]:
    """Refuse caches that cannot be combined; put shards of one manifest in shard order."""
    first_name, (_, first) = names[0], parts[0]
    for name, (_, info) in zip(names[1:], parts[1:], strict=True):
        for attr in ("codec", "text_encoder", "text_dim"):
            if getattr(info, attr) != getattr(first, attr):
                raise ValueError(
                    f"caches {first_name!r} and {name!r} differ in {attr} "
                    f"({getattr(first, attr)!r} vs {getattr(info, attr)!r}); only caches "
                    "prepared with the same codec and text encoder can be combined"
                )
    seen: dict[tuple, str] = {}
    by_manifest: dict[str, set[int]] = {}
    totals: dict[str, int] = {}
    for name, (_, info) in zip(names, parts, strict=True):
        for src in info.sources:
            if not {"manifest_sha256", "shard_index", "num_shards"} <= src.keys():
                continue  # a cache written by other tools: nothing to check shards against
            key = (src["manifest_sha256"], src["shard_index"], src["num_shards"])
            if key in seen:
                raise ValueError(
                    f"shard {src['shard_index']} of the same manifest is in both "
                    f"{seen[key]!r} and {name!r}; give each shard once"
                )
            seen[key] = name
            by_manifest.setdefault(src["manifest_sha256"], set()).add(src["shard_index"])
            totals[src["manifest_sha256"]] = src["num_shards"]
    for sha, have in by_manifest.items():
        missing = sorted(set(range(totals[sha])) - have)
        if missing:
            raise ValueError(
                f"shards {missing} of {totals[sha]} (manifest {sha[:12]}) are missing; prepare "
                "them with --num-shards/--shard-index and pass every shard folder"
            )

    def order(item: tuple[int, tuple[datasets.Dataset, CacheInfo]]) -> tuple:
        index, (_, info) = item
        src = info.sources[0] if info.sources else {}
        # Shards of one manifest sort by shard index; different manifests keep the given order.
        first_seen = min(
            i for i, (_, o) in enumerate(parts) if _manifest_of(o) == _manifest_of(info)
        )
        return (first_seen, src.get("shard_index", 0), index)

    return [p for _, p in sorted(enumerate(parts), key=order)]


def _manifest_of(info: CacheInfo) -> str | None:
    return info.sources[0].get("manifest_sha256") if info.sources else None


def _combined_info(infos: list[CacheInfo]) -> CacheInfo:
    first = infos[0]
    return CacheInfo(
        codec=first.codec,
        n_q=first.n_q,
        codebook_size=first.codebook_size,
        frame_rate=first.frame_rate,
        sample_rate=first.sample_rate,
        num_clips=sum(i.num_clips for i in infos),
        num_skipped=sum(i.num_skipped for i in infos),
        seconds=sum(i.seconds for i in infos),
        frames=sum(i.frames for i in infos),
        text_encoder=first.text_encoder,
        text_dim=first.text_dim,
        sources=tuple(src for i in infos for src in i.sources),
    )


def _not_a_cache_message(cache_dir: Path) -> str:
    if (cache_dir / "prepare_state.json").is_file():
        return (
            f"token cache {str(cache_dir)!r} is unfinished (prepare was interrupted); rerun the "
            "same `maskgmt prepare` command to resume it"
        )
    return (
        f"{str(cache_dir)!r} is not a token cache (no {INFO_FILE}, nor shard folders holding "
        "one); make one with `maskgmt prepare MANIFEST --codec CODEC --out DIR`"
    )
