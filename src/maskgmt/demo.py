"""The end-to-end demo: corpus, codec, token cache, training, audio, evaluation, report."""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from maskgmt.audio import write_audio
from maskgmt.codecs.spectral import CONFIG_NAME as CODEC_CONFIG
from maskgmt.codecs.spectral import SpectralCodec, SpectralCodecConfig
from maskgmt.data.cache import read_info, read_json_file
from maskgmt.data.corpus import build_corpus
from maskgmt.data.manifest import read_manifest
from maskgmt.data.prepare import prepare_cache
from maskgmt.eval.evaluate import EvalConfig, evaluate_model, load_or_train_classifier
from maskgmt.pipeline import MAX_SECONDS, TextToMusic
from maskgmt.train.config import get_preset
from maskgmt.train.loop import train
from maskgmt.viz import save_spectrogram


@dataclass(frozen=True, kw_only=True)
class DemoConfig:
    """What `maskgmt demo` does; defaults take about ten minutes on 2 CPU cores."""

    out: Path  # everything is written under this folder; a rerun reuses finished stages
    clips: int = 1100  # corpus clips to render (split by piece: about 10% are test clips)
    seconds: float = 6.0  # length of each corpus clip
    train_minutes: float = 6.0  # wall-time budget for training
    max_steps: int | None = None  # optional step cap (the preset's otherwise)
    preset: str = "tiny"
    samples: int = 4  # held-out captions to generate audio for
    sample_seconds: float | None = None  # generated length (default: one model window, 3 s)
    eval_clips: int = 120  # held-out clips to score with `maskgmt eval` (0 skips it)
    codebook_size: int = 256  # V of the fitted codec: fewer codes are learnable in minutes
    seed: int = 0
    workers: int | None = None  # corpus render processes (default: all cores)
    progress: bool = True

    def __post_init__(self) -> None:
        """Every option is checked here, before minutes of corpus rendering."""
        if self.clips < 8:
            raise ValueError(f"clips: the demo needs at least 8 clips to split, got {self.clips}")
        if not 0 < self.train_minutes < math.inf:
            raise ValueError(
                f"train_minutes: expected a finite number > 0, got {self.train_minutes}"
            )
        if self.samples < 1:
            raise ValueError(f"samples: expected >= 1, got {self.samples}")
        if self.sample_seconds is not None and not 0 < self.sample_seconds <= MAX_SECONDS:
            raise ValueError(
                f"sample_seconds: expected a length in (0, {MAX_SECONDS:g}] seconds, "
                f"got {self.sample_seconds}"
            )
        _check_counts(self)
        get_preset(self.preset)  # an unknown preset names the known ones


def _check_counts(cfg: DemoConfig) -> None:
    """The integer options: seed, step cap, codebook size and scored clips."""
    if not 0 <= cfg.seed < 2**63 - cfg.clips:
        raise ValueError(f"seed: expected an integer in [0, 2**63 - clips), got {cfg.seed}")
    if cfg.max_steps is not None and cfg.max_steps < 1:
        raise ValueError(
            f"max_steps: expected >= 1 (or None for the preset's), got {cfg.max_steps}"
        )
    if cfg.codebook_size < 2:
        raise ValueError(f"codebook_size: expected >= 2 codes per level, got {cfg.codebook_size}")
    if cfg.eval_clips < 0:
        raise ValueError(f"eval_clips: expected >= 0 (0 skips scoring), got {cfg.eval_clips}")


@dataclass
class DemoReport:
    """What the demo made and how long each stage took (also written as report.json/.md)."""

    out: str
    stage_seconds: dict[str, float] = field(default_factory=dict)
    corpus: dict = field(default_factory=dict)
    train: dict = field(default_factory=dict)
    samples: list[dict] = field(default_factory=list)
    generation: dict = field(default_factory=dict)
    evaluation: dict = field(default_factory=dict)


def _stage(report: DemoReport, name: str, t0: float) -> None:
    report.stage_seconds[name] = round(time.perf_counter() - t0, 2)


def run_demo(cfg: DemoConfig) -> DemoReport:
    """Run every stage; each is skipped when its output from an earlier run is already there."""
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    report = DemoReport(out=str(out))

    t0 = time.perf_counter()
    corpus = build_corpus(
        out / "corpus",
        clips=cfg.clips,
        seconds=cfg.seconds,
        seed=cfg.seed,
        workers=cfg.workers,
        progress=cfg.progress,
    )
    report.corpus = {
        "clips": corpus.clips,
        "pieces": {k: len(v) for k, v in corpus.pieces.items()},
        "skipped_pieces": len(corpus.skipped_pieces),
    }
    _stage(report, "corpus", t0)

    t0 = time.perf_counter()
    codec_dir = out / "codec"
    train_rows = read_manifest(corpus.manifest("train"))
    if (codec_dir / CODEC_CONFIG).exists():
        codec = SpectralCodec.load(codec_dir)
    else:
        codec = SpectralCodec.fit_files(
            [r["audio"] for r in train_rows],
            # Mel weights at 256 codes: equal weights gave instrument +2.9 [-1.8, +8.2] points
            # and key -3.1 [-6.7, +0.1] there (3 fits each, docs/QUALITY.md), no gain beyond
            # the noise, so the demo keeps what it was measured with.
            config=SpectralCodecConfig(codebook_size=cfg.codebook_size, mel_weighting=True),
            max_frames=20_000,  # k-means on 20k of the frames: under a minute on 2 cores
            seed=cfg.seed,
            progress=cfg.progress,
        )
        codec.save(codec_dir)
    _stage(report, "codec_fit", t0)

    t0 = time.perf_counter()
    cache_dir = out / "cache"
    if not (cache_dir / "cache_info.json").exists():
        prepare_cache(corpus.manifest("train"), cache_dir, codec=codec, progress=cfg.progress)
    report.corpus["cached_clips"] = read_info(cache_dir).num_clips
    _stage(report, "prepare", t0)

    t0 = time.perf_counter()
    run_dir = out / "run"
    done = out / "train_result.json"
    if done.exists():  # a finished run from before: reuse it rather than train on
        report.train = read_json_file(done, "delete it to train again")
    else:
        result = train(
            get_preset(cfg.preset),
            data_dir=cache_dir,
            out_dir=run_dir,
            resume=(run_dir / "checkpoints").exists(),
            max_steps=cfg.max_steps,
            max_minutes=cfg.train_minutes,
            codec=codec,
            progress=cfg.progress,
        )
        report.train = {
            "steps": result.steps,
            "seconds": round(result.seconds, 1),
            "tokens_seen": result.tokens_seen,
            "train_loss": result.train_loss,
            "val_loss": result.val_loss,
            "model_dir": str(result.model_dir),
            "loss_history": result.history,
            "text_gain": result.text_gain_history,
        }
        done.write_text(json.dumps(report.train, indent=2))
    _stage(report, "train", t0)

    t0 = time.perf_counter()
    pipe = TextToMusic.from_pretrained(report.train["model_dir"], codec=codec)
    test_rows = read_manifest(corpus.manifest("test"))[: cfg.samples]
    texts = [r["text"] for r in test_rows]
    # One window keeps the demo within its time budget; `--sample-seconds 6` makes clips as long
    # as the real ones, whose second window continues the first and is scored apart from it.
    seconds = cfg.sample_seconds or pipe.max_seconds_per_window
    wav = pipe.generate(texts, seconds=seconds, seed=cfg.seed)
    timings = pipe.last_timings
    samples_dir = out / "samples"
    for i, (row, clip) in enumerate(zip(test_rows, wav, strict=True)):
        path = samples_dir / f"{i:02d}.wav"
        write_audio(path, clip.cpu(), pipe.sample_rate)
        save_spectrogram(path.with_suffix(".png"), clip.cpu(), pipe.sample_rate, title=row["text"])
        report.samples.append(
            {
                "text": row["text"],
                "wav": str(path.relative_to(out)),
                "png": str(path.with_suffix(".png").relative_to(out)),
                "reference": row["audio"],
            }
        )
    report.generation = {
        "clips": len(texts),
        "seconds_each": seconds,
        "token_seconds": round(timings.tokens, 3),
        "decode_seconds": round(timings.decode, 3),
        "real_time_factor": round(timings.real_time_factor * len(texts), 2),
    }
    _stage(report, "generate", t0)

    if cfg.eval_clips:
        t0 = time.perf_counter()
        eval_dir = out / "eval"
        test = corpus.manifest("test")
        classifier = load_or_train_classifier(
            test, train_split=corpus.manifest("train"), save_to=eval_dir / "instrument_classifier",
            progress=cfg.progress,
        )  # fmt: skip
        metrics = evaluate_model(
            pipe, test, out_dir=eval_dir, classifier=classifier,
            config=EvalConfig(seed=cfg.seed, seconds=seconds, limit=cfg.eval_clips,
                              window_seconds=pipe.max_seconds_per_window, progress=cfg.progress),
        )  # fmt: skip
        report.evaluation = {"report": str((eval_dir / "report.md").relative_to(out)),
                             "accuracy": metrics.get("accuracy", {})}  # fmt: skip
        _stage(report, "evaluate", t0)
    _write_report(out, report)
    return report


def _write_report(out: Path, report: DemoReport) -> None:
    (out / "report.json").write_text(json.dumps(asdict(report), indent=2))
    lines = ["# maskgmt demo", "", "| stage | seconds |", "| --- | --- |"]
    lines += [f"| {k} | {v} |" for k, v in report.stage_seconds.items()]
    tr = report.train
    lines += [
        "",
        f"Trained {tr['steps']} steps in {tr['seconds']} s; "
        f"last train loss per level {_rounded(tr['train_loss'])}, "
        f"validation {_rounded(tr['val_loss'])}.",
        "",
    ]
    lines += _text_gain_lines(tr.get("text_gain") or [])
    g = report.generation
    lines += [
        f"Generated {g['clips']} x {g['seconds_each']} s: tokens {g['token_seconds']} s, "
        f"decode {g['decode_seconds']} s ({g['real_time_factor']}x real time).",
        "",
        "| # | caption | audio | spectrogram |",
        "| --- | --- | --- | --- |",
    ]
    lines += [
        f"| {i} | {s['text']} | [{s['wav']}]({s['wav']}) | ![]({s['png']}) |"
        for i, s in enumerate(report.samples)
    ]
    if report.evaluation:
        lines += ["", "## Does the music follow the text?", ""]
        lines += _first_table((out / report.evaluation["report"]).read_text())
        lines += ["", f"Full evaluation: [{report.evaluation['report']}]"
                  f"({report.evaluation['report']})."]  # fmt: skip
    (out / "report.md").write_text("\n".join(lines) + "\n")


def _text_gain_lines(history: list[dict]) -> list[str]:
    """The last validation's text information gain per level, as a report paragraph."""
    last = next((h for h in reversed(history) if h.get("full")), None)
    if last is None:
        return []
    full, partial = _rounded(last["full"]), _rounded(last.get("partial") or [])
    return [
        f"Text information gain at step {last['step']} (validation loss with shuffled captions "
        f"minus with the true ones, nats/token, per level): level fully masked {full}; "
        f"{round(100 * (last.get('share') or 0.5))}% masked {partial}. About 0 means the model "
        "ignores the caption.",
        "",
    ]


def _first_table(markdown: str) -> list[str]:
    """The first markdown table of a document (its consecutive `|` lines)."""
    lines = markdown.splitlines()
    start = next((i for i, ln in enumerate(lines) if ln.startswith("|")), len(lines))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return lines[start:end]


def _rounded(values: list) -> list:
    return [None if v is None else round(v, 3) for v in values]
