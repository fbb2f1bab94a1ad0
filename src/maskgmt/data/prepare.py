"""`prepare_cache`: encode every clip of a manifest once into a resumable, shardable token cache."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import datasets
import torch

from maskgmt.data.cache import (
    INFO_FILE,
    CacheInfo,
    atomic_write_text,
    datasets_progress,
    read_info,
    read_json_file,
    read_skipped,
    write_cache,
)
from maskgmt.data.encode import CHUNK_META, ChunkEncoder
from maskgmt.data.manifest import load_rows
from maskgmt.data.schema import extra_columns
from maskgmt.progress import tqdm

STATE_FILE = "prepare_state.json"  # the request an unfinished cache belongs to (for resuming)
CHUNKS_DIR = "chunks"  # finished chunks, each a `save_to_disk` folder + meta.json; the resume unit


@dataclass(frozen=True)
class PrepareReport:
    """What one `prepare_cache` call produced."""

    out_dir: Path
    kept: int  # clips in the cache
    skipped: int  # clips listed in skipped.jsonl
    seconds: float  # audio kept, in seconds
    frames: int  # code frames kept (sum of T)
    resumed_chunks: int  # chunks found finished by an earlier, interrupted run
    total_chunks: int
    elapsed_s: float  # wall time of this call
    skip_reasons: dict[str, int] = field(default_factory=dict)  # reason kind -> count

    def summary(self) -> str:
        """A few human lines: counts, hours, skip reasons, where the skip list is."""
        lines = [
            f"token cache: {self.out_dir}",
            f"  kept {self.kept} clips ({self.seconds / 3600:.2f} h, {self.frames} frames), "
            f"skipped {self.skipped}",
        ]
        if self.skip_reasons:
            reasons = ", ".join(f"{kind}: {n}" for kind, n in sorted(self.skip_reasons.items()))
            lines.append(f"  skipped because {reasons} (see {self.out_dir / 'skipped.jsonl'})")
        if self.resumed_chunks:
            lines.append(f"  resumed: {self.resumed_chunks}/{self.total_chunks} chunks were done")
        lines.append(f"  took {self.elapsed_s:.1f} s")
        return "\n".join(lines)


def prepare_cache(
    manifest_or_folder: str | Path,
    out_dir: str | Path,
    *,
    codec: Any,
    batch_size: int = 16,
    device: str | torch.device | None = None,
    text_encoder: Any = None,
    min_seconds: float = 1.0,
    num_shards: int = 1,
    shard_index: int = 0,
    chunk_size: int = 256,
    max_padding: float = 0.1,
    progress: bool = True,
) -> PrepareReport:
    """Encode each clip of a manifest (or captioned folder) once into a token cache at `out_dir`.

    codec: an `AudioCodec`, or a name/folder for `maskgmt.codecs.load_codec`.
    text_encoder: None, a `TextEncoder`, or a name for `maskgmt.text.load_text_encoder`; when
        given, `text_embeds` float16 [L, D] and `text_len` columns are cached too.
    device: where the codec runs ("cuda" when available if None); codec and text encoder
        modules are moved there.
    min_seconds: clips shorter than this are skipped (and listed).
    num_shards, shard_index: this process encodes only the `shard_index`-th contiguous block of
        rows; combine the shard folders with `merge_caches` or load their parent folder.
    chunk_size: clips per finished chunk, the unit of resuming after a crash.
    max_padding: clips of different lengths are batched (zero-padded, codes trimmed to their
        length) only when the shorter is at most this fraction shorter than the longest; 0 batches
        only equal-length clips, which makes the codes identical to encoding each clip alone.
    Rerunning after a crash resumes at the first unfinished chunk; rerunning a finished cache
    returns its report. Raises ValueError for bad arguments, an out_dir holding a cache of other
    input or settings, or when every clip was skipped.
    """
    started = time.perf_counter()
    _check_args(batch_size, min_seconds, num_shards, shard_index, chunk_size, max_padding)
    out_dir = Path(out_dir)
    rows = load_rows(manifest_or_folder)
    columns = extra_columns(rows)  # from all rows, so every shard gets the same schema
    start, stop = len(rows) * shard_index // num_shards, len(rows) * (shard_index + 1) // num_shards
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    codec = _resolve_codec(codec, device)
    text_encoder = _resolve_text_encoder(text_encoder, device)
    request = {  # what the cache is made from; a rerun must match it to resume
        "manifest": str(Path(manifest_or_folder).resolve()),
        "manifest_sha256": _fingerprint(rows),
        "num_shards": num_shards,
        "shard_index": shard_index,
        "chunk_size": chunk_size,
        "min_seconds": min_seconds,
        "text_encoder": text_encoder.name if text_encoder is not None else None,
    }
    request = json.loads(json.dumps(request))  # compare as cache_info.json will hold it
    done = _finished_cache(out_dir, request, codec)
    if done is not None:
        return _report(out_dir, done, resumed=0, total=0, started=started)
    _claim(out_dir, request, codec)

    encoder = ChunkEncoder(
        codec=codec,
        text_encoder=text_encoder,
        device=device,
        columns=columns,
        batch_size=batch_size,
        min_seconds=min_seconds,
        max_padding=max_padding,
    )
    chunks_dir = out_dir / CHUNKS_DIR
    chunks_dir.mkdir(exist_ok=True)
    for leftover in chunks_dir.glob(".tmp-*"):  # half-written chunks of a killed run
        shutil.rmtree(leftover, ignore_errors=True)
    bounds = [(i, min(i + chunk_size, stop)) for i in range(start, stop, chunk_size)]
    resumed = 0
    bar = tqdm(total=stop - start, unit="clip", desc="prepare", disable=not progress)
    with bar, datasets_progress(False):
        for number, (lo, hi) in enumerate(bounds):
            final = chunks_dir / f"{number:05d}"
            if (final / CHUNK_META).is_file():
                problem = _chunk_problem(final, lo, hi)
                if problem is None:
                    resumed += 1
                    bar.update(hi - lo)
                    continue
                print(
                    f"warning: finished chunk {str(final)!r} is damaged ({problem}); "
                    "encoding its clips again",
                    file=sys.stderr,
                    flush=True,
                )
                shutil.rmtree(final)
            encoder.write(rows, lo, hi, final, bar)
    return _finalise(out_dir, request, encoder, total=len(bounds), resumed=resumed, started=started)


# ----------------------------------------------------------------------------- state


def _chunk_problem(chunk: Path, lo: int, hi: int) -> str | None:
    """Why a finished chunk folder cannot be used (truncated or garbage files), or None."""
    try:
        meta = json.loads((chunk / CHUNK_META).read_text())
        if meta.get("rows") != [lo, hi]:
            return f"{CHUNK_META} covers rows {meta.get('rows')}, expected [{lo}, {hi}]"
        with datasets_progress(False):
            num_rows = datasets.load_from_disk(str(chunk)).num_rows
    except Exception as err:  # JSON, arrow or datasets errors: all mean "damaged"
        return f"{type(err).__name__}: {str(err)[:200]}"
    if num_rows != meta.get("kept"):
        return f"{num_rows} rows on disk, {CHUNK_META} says {meta.get('kept')}"
    return None


def _finished_cache(out_dir: Path, request: dict, codec: Any) -> CacheInfo | None:
    """The info of a finished cache made by this same request, None if there is none yet."""
    if not (out_dir / INFO_FILE).is_file():
        return None
    info = read_info(out_dir)
    if info.sources != (request,) or info.codec != _identity(codec):
        raise ValueError(
            f"--out {str(out_dir)!r} already holds a token cache made from other input or "
            "settings (manifest, shard, codec, text encoder or min_seconds differ); pass a new "
            "--out folder or delete that one"
        )
    shutil.rmtree(out_dir / CHUNKS_DIR, ignore_errors=True)  # left if killed right after finishing
    (out_dir / STATE_FILE).unlink(missing_ok=True)
    return info


def _claim(out_dir: Path, request: dict, codec: Any) -> None:
    """Record what this folder is being prepared from, or check a resumed run matches it."""
    state = {"request": request, "codec": _identity(codec)}
    path = out_dir / STATE_FILE
    if path.is_file():
        fix = f"delete {str(out_dir)!r} and run prepare again"
        if read_json_file(path, fix) != json.loads(json.dumps(state)):
            raise ValueError(
                f"--out {str(out_dir)!r} holds an unfinished cache from other input or settings; "
                "rerun with the same arguments to resume it, or pass a new --out folder"
            )
        return
    if out_dir.exists() and any(out_dir.iterdir()):
        raise ValueError(
            f"--out {str(out_dir)!r} exists and is not empty; pass a new or empty folder"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(state, indent=2) + "\n")


def _finalise(
    out_dir: Path, request: dict, encoder: ChunkEncoder, *, total: int, resumed: int, started: float
) -> PrepareReport:
    """Combine the finished chunks into the cache, or raise if every clip was skipped."""
    codec = encoder.codec
    chunk_dirs = sorted((out_dir / CHUNKS_DIR).glob("[0-9]*"))
    fix = "delete that chunk folder and rerun the same prepare command to encode it again"
    metas = [read_json_file(d / CHUNK_META, fix) for d in chunk_dirs]
    skipped = [rec for m in metas for rec in m["skipped"]]
    kept = sum(m["kept"] for m in metas)
    info = CacheInfo(
        codec=_identity(codec),
        n_q=int(codec.n_q),
        codebook_size=int(codec.codebook_size),
        frame_rate=float(codec.frame_rate),
        sample_rate=int(codec.sample_rate),
        num_clips=kept,
        num_skipped=len(skipped),
        seconds=float(sum(m["seconds"] for m in metas)),
        frames=int(sum(m["frames"] for m in metas)),
        text_encoder=request["text_encoder"],
        text_dim=encoder.text_encoder.dim if encoder.text_encoder is not None else None,
        sources=(request,),
    )
    if kept == 0 and request["num_shards"] == 1:
        atomic_write_text(out_dir / "skipped.jsonl", "".join(json.dumps(r) + "\n" for r in skipped))
        reasons = "; ".join(f"{r['audio']}: {r['reason']}" for r in skipped[:3])
        raise ValueError(
            f"no clips left: all {len(skipped)} clips were skipped (listed in "
            f"{out_dir / 'skipped.jsonl'}), e.g. {reasons}; fix or remove those files, delete "
            f"{str(out_dir)!r} and run prepare again"
        )
    with datasets_progress(False):
        parts = [datasets.load_from_disk(str(d)) for d in chunk_dirs]
        dataset = datasets.concatenate_datasets(parts) if parts else _empty(encoder.features)
    write_cache(dataset, info, skipped, out_dir, progress=False)
    shutil.rmtree(out_dir / CHUNKS_DIR)
    (out_dir / STATE_FILE).unlink()
    return _report(out_dir, info, resumed=resumed, total=total, started=started)


def _report(
    out_dir: Path, info: CacheInfo, *, resumed: int, total: int, started: float
) -> PrepareReport:
    kinds = Counter(rec["reason"].split(":")[0] for rec in read_skipped(out_dir))
    return PrepareReport(
        out_dir=out_dir,
        kept=info.num_clips,
        skipped=info.num_skipped,
        seconds=info.seconds,
        frames=info.frames,
        resumed_chunks=resumed,
        total_chunks=total,
        elapsed_s=time.perf_counter() - started,
        skip_reasons=dict(kinds),
    )


# ----------------------------------------------------------------------------- small helpers


def _check_args(
    batch_size: int,
    min_seconds: float,
    num_shards: int,
    shard_index: int,
    chunk_size: int,
    max_padding: float,
) -> None:
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    if not min_seconds >= 0:
        raise ValueError(f"min_seconds must be >= 0, got {min_seconds}")
    if not 0 <= max_padding < 1:
        raise ValueError(f"max_padding must be in [0, 1), got {max_padding}")
    if num_shards < 1:
        raise ValueError(f"num_shards must be >= 1, got {num_shards}")
    if not 0 <= shard_index < num_shards:
        raise ValueError(
            f"shard_index must be in [0, num_shards={num_shards}), got {shard_index}; "
            "shards are numbered from 0"
        )


def _resolve_codec(codec: Any, device: torch.device) -> Any:
    if isinstance(codec, str | os.PathLike):
        from maskgmt.codecs import load_codec

        codec = load_codec(str(codec), device=device)
    for attr in ("encode", "n_q", "codebook_size", "frame_rate", "sample_rate", "identity"):
        if not hasattr(codec, attr):
            raise ValueError(
                f"codec {type(codec).__name__} has no {attr!r}; pass an AudioCodec "
                "(maskgmt.codecs) or a codec name/folder for load_codec"
            )
    if isinstance(codec, torch.nn.Module):
        codec = codec.to(device).eval()
    return codec


def _resolve_text_encoder(text_encoder: Any, device: torch.device) -> Any:
    if text_encoder is None:
        return None
    if isinstance(text_encoder, str):
        from maskgmt.text import load_text_encoder

        text_encoder = load_text_encoder(text_encoder, device=device)
    if isinstance(text_encoder, torch.nn.Module):
        text_encoder = text_encoder.to(device).eval()
    return text_encoder


def _identity(codec: Any) -> dict:
    # Round-trip through JSON so tuples/paths compare equal to what cache_info.json holds.
    return json.loads(json.dumps(codec.identity()))


def _fingerprint(rows: Sequence[dict]) -> str:
    digest = hashlib.sha256()
    for row in rows:
        digest.update(json.dumps(row, sort_keys=True, default=str).encode() + b"\n")
    return digest.hexdigest()


def _empty(features: datasets.Features) -> datasets.Dataset:
    return datasets.Dataset.from_dict({name: [] for name in features}, features=features)
