"""Build the captioned corpus: pick pieces, plan clips, render in parallel, write manifests."""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import NamedTuple

from maskgmt.data.attributes import INSTRUMENTS
from maskgmt.data.corpus.arrange import ClipPlan, plan_clip
from maskgmt.data.corpus.captions import write_caption
from maskgmt.data.corpus.catalog import SOURCES
from maskgmt.data.corpus.config import SPLITS, CorpusConfig
from maskgmt.data.corpus.render import DYNAMICS_RMS_DBFS, Renderer, find_fluidsynth, find_soundfont
from maskgmt.data.corpus.scores import PieceNotes
from maskgmt.data.corpus.selection import select_pieces, split_pieces
from maskgmt.progress import tqdm

CACHE_ENV = "MASKGMT_CACHE_DIR"


def default_cache_dir() -> Path:
    """Where parsed scores are cached across builds: $MASKGMT_CACHE_DIR or ~/.cache/maskgmt."""
    root = os.environ.get(CACHE_ENV) or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "maskgmt"
    )
    return Path(root) / "corpus"


def default_workers() -> int:
    """CPU cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@dataclass(kw_only=True)
class CorpusReport:
    """What a build did; also written to OUT/report.json."""

    out_dir: Path
    config: CorpusConfig
    clips: dict[str, int]  # split -> rows written to its manifest
    pieces: dict[str, list[str]]  # split -> piece ids
    rendered: int  # clips rendered by this run
    reused: int  # clips already on disk from an earlier run with the same settings
    skipped_pieces: list[dict] = field(default_factory=list)  # {"piece", "reason"}
    failed_clips: list[dict] = field(default_factory=list)  # {"id", "piece", "reason"}
    parse_seconds: float = 0.0
    render_seconds: float = 0.0

    def manifest(self, split: str) -> Path:
        """Path of a split's JSONL manifest."""
        if split not in SPLITS:
            raise ValueError(f"split: expected one of {SPLITS}, got {split!r}")
        return self.out_dir / f"{split}.jsonl"

    def to_json(self) -> dict:
        """A JSON-able dict of the report."""
        d = asdict(self)
        d["out_dir"] = str(self.out_dir)
        d["config"]["sources"] = list(self.config.sources)
        return d


# ----------------------------------------------------------------------------- clips


class Clip(NamedTuple):
    """A planned clip with everything needed to render it and write its manifest row."""

    plan: ClipPlan
    midi: bytes  # the Standard MIDI File FluidSynth renders
    id: str  # file stem: index plus a hash of what decides the audio
    caption: str

    @property
    def audio(self) -> str:
        """WAV path relative to the corpus folder."""
        return f"clips/{self.id}.wav"


def piece_for_clip(index: int, config: CorpusConfig, n_pieces: int) -> int:
    """Which selected piece clip `index` comes from.

    Consecutive blocks of clips_per_piece clips share a piece, so a build with more clips keeps
    the earlier clips (and their files) unchanged; builds too small to fill three blocks deal
    clips round-robin instead, so that every split still gets a piece.
    """
    if config.clips < 3 * config.clips_per_piece:
        return index % n_pieces
    return (index // config.clips_per_piece) % n_pieces


def _make_clip(piece: PieceNotes, index: int, config: CorpusConfig, renderer_id: str) -> Clip:
    plan = plan_clip(
        piece,
        index=index,
        seconds=config.seconds,
        seed=config.seed,
        accompaniment_prob=config.accompaniment_prob,
    )
    midi = plan.midi_bytes()
    h = hashlib.sha1(midi)
    h.update(renderer_id.encode())
    h.update(f"{plan.seconds!r}/{DYNAMICS_RMS_DBFS[plan.attributes.dynamics]!r}".encode())
    caption = write_caption(plan.attributes, random.Random(f"{config.seed}/caption/{index}"))
    return Clip(plan, midi, f"{index:06d}-{h.hexdigest()[:12]}", caption)


def manifest_row(clip: Clip, *, sample_rate: int) -> dict:
    """A clip's JSONL row: the Data fields of docs/INTERFACES.md plus id/style/title/velocity."""
    a = clip.plan.attributes
    inst = INSTRUMENTS[a.instrument]
    return {
        "audio": clip.audio,
        "text": clip.caption,
        "piece": a.piece,
        "instrument": a.instrument,
        "instrument_family": inst.family,
        "program": inst.program,
        "tempo_bpm": a.tempo_bpm,
        "tempo_word": a.tempo_word,
        "register": a.register,
        "melody_median_pitch": a.melody_median_pitch,
        "transpose": a.transpose,
        "key": a.key,
        "mode": a.mode,
        "meter": a.meter,
        "dynamics": a.dynamics,
        "accompaniment": a.accompaniment,
        "duration": clip.plan.seconds,
        "sample_rate": sample_rate,
        "id": clip.id,
        "style": a.style,
        "title": a.title,
        "velocity": a.velocity,
    }


def _write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def build_corpus(
    out_dir: str | os.PathLike,
    *,
    clips: int,
    seconds: float = 10.0,
    seed: int = 0,
    soundfont: str | os.PathLike | None = None,
    workers: int | None = None,
    progress: bool = True,
    cache_dir: str | os.PathLike | None = None,
    sample_rate: int = 24_000,
    clips_per_piece: int = 4,
    accompaniment_prob: float = 0.5,
    sources: tuple[str, ...] = tuple(SOURCES),
) -> CorpusReport:
    """Render `clips` captioned clips of `seconds` s into out_dir and write its manifests.

    Writes out_dir/clips/*.wav (mono 16-bit, `sample_rate` Hz), train/valid/test.jsonl (audio
    paths relative to out_dir; no piece in two splits) and report.json. Same arguments ->
    identical manifests and audio bytes. Rerunning resumes: clips already on disk are kept.
    soundfont: a .sf2 path (default: $MASKGMT_SOUNDFONT or Debian's fluid-soundfont-gm).
    workers: parallel parses/renders (default: all usable cores). cache_dir: where parsed
    scores are kept between builds (default: default_cache_dir()).
    """
    config = CorpusConfig(
        clips=clips,
        seconds=float(seconds),
        seed=seed,
        sample_rate=sample_rate,
        clips_per_piece=clips_per_piece,
        accompaniment_prob=accompaniment_prob,
        sources=tuple(sources),
    )
    if workers is not None and workers < 1:
        raise ValueError(f"workers: expected >= 1 (or None for all cores), got {workers!r}")
    workers = workers or default_workers()
    # Fail on a missing renderer before spending minutes on scores.
    renderer = Renderer(
        soundfont=find_soundfont(soundfont), sample_rate=sample_rate, fluidsynth=find_fluidsynth()
    )
    out = Path(out_dir)
    (out / "clips").mkdir(parents=True, exist_ok=True)
    for stale in (out / "clips").glob(".*.tmp.wav"):  # half-written by an interrupted run
        stale.unlink()
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()

    t0 = time.perf_counter()
    pieces, skipped = select_pieces(config, cache_dir=cache, workers=workers, progress=progress)
    parse_seconds = time.perf_counter() - t0
    split_of = split_pieces([p.piece for p in pieces], config)

    renderer_id = json.dumps(renderer.identity(), sort_keys=True)
    planned = [
        _make_clip(pieces[piece_for_clip(i, config, len(pieces))], i, config, renderer_id)
        for i in range(config.clips)
    ]
    todo = [c for c in planned if not (out / c.audio).is_file()]
    failed: dict[str, str] = {}
    t0 = time.perf_counter()
    # Threads suffice: each render is a fluidsynth process, the Python side only scales samples.
    with (
        ThreadPoolExecutor(max_workers=workers) as pool,
        tqdm(total=len(todo), desc="render clips", unit="clip", disable=not progress) as bar,
    ):
        futures = {
            pool.submit(
                renderer.render_to_file,
                c.midi,
                out / c.audio,
                seconds=c.plan.seconds,
                rms_dbfs=DYNAMICS_RMS_DBFS[c.plan.attributes.dynamics],
            ): c.id
            for c in todo
        }
        for future in as_completed(futures):
            try:
                future.result()
            except (RuntimeError, OSError, subprocess.SubprocessError) as e:  # skip, report
                failed[futures[future]] = str(e)
            bar.update(1)
    render_seconds = time.perf_counter() - t0

    rows: dict[str, list[dict]] = {s: [] for s in SPLITS}
    for c in planned:
        if c.id not in failed:
            row = manifest_row(c, sample_rate=config.sample_rate)
            rows[split_of[c.plan.attributes.piece]].append(row)
    for split in SPLITS:
        lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows[split])
        _write_text_atomic(out / f"{split}.jsonl", lines)

    report = CorpusReport(
        out_dir=out,
        config=config,
        clips={s: len(rows[s]) for s in SPLITS},
        pieces={s: sorted(p for p, sp in split_of.items() if sp == s) for s in SPLITS},
        rendered=len(todo) - len(failed),
        reused=len(planned) - len(todo),
        skipped_pieces=skipped,
        failed_clips=[
            {"id": c.id, "piece": c.plan.attributes.piece, "reason": failed[c.id]}
            for c in planned
            if c.id in failed
        ],
        parse_seconds=round(parse_seconds, 3),
        render_seconds=round(render_seconds, 3),
    )
    _write_text_atomic(out / "report.json", json.dumps(report.to_json(), indent=2) + "\n")
    return report
