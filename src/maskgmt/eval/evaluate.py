"""Text-adherence evaluation: estimate attributes from four audio sources and score them."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from maskgmt.eval.analyse import ClipAnalysis, analyse
from maskgmt.eval.attributes import reference_values
from maskgmt.eval.audio import ANALYSIS_SR, MAX_SECONDS, load_analysis
from maskgmt.eval.cache import AnalysisCache, clip_key
from maskgmt.eval.classifier import check_not_trained_on, load_or_train_classifier
from maskgmt.eval.instrument import InstrumentClassifier
from maskgmt.eval.manifest import read_split
from maskgmt.eval.report import write_report
from maskgmt.eval.scoring import SOURCES, score
from maskgmt.eval.sources import (
    Generator,
    codec_audio,
    codec_identity,
    generated_audio,
    match_files,
    median_seconds,
    real_audio,
)
from maskgmt.eval.stats import RESAMPLES
from maskgmt.progress import tqdm

__all__ = ["SOURCES", "EvalConfig", "derangement", "evaluate_audio_dir", "evaluate_model",
           "load_or_train_classifier"]  # fmt: skip

# The later part of a generated clip (past its first window) is scored only when it is at least
# this long: shorter audio gives no tempo or key worth comparing.
MIN_SEGMENT_SECONDS = 1.0


@dataclass(frozen=True)
class EvalConfig:
    """How to run an evaluation."""

    seed: int = 0  # generation batch b uses seed + b (real and shuffled captions); bootstrap seed
    batch_size: int = 4  # captions per `generate` call
    seconds: float | None = None  # generated length; None: the median real clip length
    limit: int | None = None  # evaluate only the first N clips of the split (None: all rows)
    progress: bool = True  # tqdm bars
    control: bool = True  # generate and score the shuffled-caption control (doubles generation)
    # The model's window in seconds: generated clips longer than one window (made as overlapping
    # windows) are also scored as [0, window) and [window, end). None: no by-window figures.
    window_seconds: float | None = None
    # Folder that keeps the real and codec analyses between evaluations (keyed by audio path,
    # size, mtime, the codec's identity, the classifier and the analysis code). None: no cache.
    cache_dir: str | Path | None = None
    bootstrap: int = RESAMPLES  # resamples of the 95 % percentile intervals

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size: expected >= 1, got {self.batch_size}")
        if self.seconds is not None and not self.seconds > 0:
            raise ValueError(f"seconds: expected a positive length in seconds, got {self.seconds}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit: expected a positive number of clips, got {self.limit}")
        if self.window_seconds is not None and not 0 < self.window_seconds < float("inf"):
            raise ValueError(
                f"window_seconds: expected the model's window length in seconds, got "
                f"{self.window_seconds}"
            )
        if self.bootstrap < 1:
            raise ValueError(f"bootstrap: expected >= 1 resamples, got {self.bootstrap}")


def derangement(texts: Sequence[str], *, seed: int) -> list[int]:
    """A permutation `perm` of range(n) with perm[i] != i, and, where the captions allow it,
    texts[perm[i]] != texts[i] too (duplicate captions would otherwise leak the right text).

    Uniform by rejection sampling (about e tries for unique captions).
    """
    n = len(texts)
    if n < 2:
        raise ValueError(f"texts: the shuffled control needs at least 2 clips, got {n}")
    rng = np.random.default_rng(seed)
    for strict in (True, False):  # give up on caption-level difference if it is impossible
        for _ in range(2000):
            perm = rng.permutation(n)
            if np.any(perm == np.arange(n)):
                continue
            if strict and any(texts[p] == t for p, t in zip(perm, texts, strict=True)):
                continue
            return [int(p) for p in perm]
    # Sattolo's algorithm: a single n-cycle, always a derangement (reached only for pathological
    # rejection luck with heavily duplicated captions).
    perm = list(range(n))
    for i in range(n - 1, 0, -1):
        j = int(rng.integers(0, i))
        perm[i], perm[j] = perm[j], perm[i]
    return perm


def evaluate_model(
    pipeline: Generator,
    manifest: str | Path,
    *,
    out_dir: str | Path,
    classifier: InstrumentClassifier | None = None,
    config: EvalConfig = EvalConfig(),
) -> dict:
    """Score real, codec, generated and shuffled-control audio for the split's captions.

    Writes metrics.json, report.md, accuracy.png and estimates.jsonl into `out_dir` and returns
    the metrics (the content of metrics.json).
    """
    rows = read_split(manifest, limit=config.limit)
    check_not_trained_on(rows, classifier)
    notes: list[str] = []
    cache: dict[str, dict] = {}
    seconds = config.seconds or median_seconds(rows)
    ref = reference_seconds(seconds, notes)
    sources = {"real": _analyse_source("real", rows, ref, real_audio, classifier, config, cache)}
    sources["codec"] = _analyse_source(
        "codec", rows, ref, lambda rs, sec: codec_audio(rs, pipeline.codec, sec), classifier,
        config, cache, codec_identity=_codec_identity(pipeline.codec, config, notes),
    )  # fmt: skip
    spans = window_spans(seconds, config.window_seconds, notes)
    texts = [str(r["text"]) for r in rows]
    keep = MAX_SECONDS if spans is None else max(MAX_SECONDS, spans["later"][1])
    gen_audio = _generate(pipeline, texts, seconds, config, keep)
    sources["generated"], windows = _analyse_generated(gen_audio, len(rows), classifier, config,
                                                       spans)  # fmt: skip
    control = _run_control(pipeline, texts, seconds, classifier, config, notes, sources)
    metrics = _metrics(rows, sources, classifier, manifest, config, notes, windows)
    metrics |= {"mode": "model", "seconds": seconds, "control": control, "cache": cache or None}
    write_report(metrics, _estimates(rows, sources, windows), out_dir)
    return metrics


def evaluate_audio_dir(
    audio_dir: str | Path,
    manifest: str | Path,
    *,
    out_dir: str | Path,
    classifier: InstrumentClassifier | None = None,
    config: EvalConfig = EvalConfig(),
) -> dict:
    """Score a folder of already generated audio against a manifest (users' own models).

    The file for a row is `audio_dir/<stem of the row's audio><ext>`, ext one of
    AUDIO_EXTENSIONS. Sources: real and generated (no codec or control without a model);
    adherence uses real audio as its ceiling. `config.window_seconds` gives by-window figures
    when every file is longer than one window.
    """
    rows = read_split(manifest, limit=config.limit)
    check_not_trained_on(rows, classifier)
    files = match_files(Path(audio_dir), rows)
    notes = [
        f"generated audio read from {audio_dir}; codec and shuffled-control sources need a model"
    ]
    cache: dict[str, dict] = {}
    shortest = min(sf.info(str(f)).duration for f in files)
    ref = reference_seconds(shortest, notes)
    sources = {"real": _analyse_source("real", rows, ref, real_audio, classifier, config, cache)}
    spans = window_spans(shortest, config.window_seconds, notes)
    keep = MAX_SECONDS if spans is None else max(MAX_SECONDS, spans["later"][1])
    gen_audio = (load_analysis(f, max_seconds=keep) for f in files)
    sources["generated"], windows = _analyse_generated(gen_audio, len(rows), classifier, config,
                                                       spans)  # fmt: skip
    metrics = _metrics(rows, sources, classifier, manifest, config, notes, windows)
    metrics |= {"mode": "audio_dir", "audio_dir": str(audio_dir), "cache": cache or None}
    write_report(metrics, _estimates(rows, sources, windows), out_dir)
    return metrics


def window_spans(seconds: float, window: float | None, notes: list[str]) -> dict | None:
    """Generated length and the model's window (s) -> {"first": [0, b], "later": [c, d]} in
    seconds (each at most MAX_SECONDS long; "later" is the clip's last window-length part past the
    first window, so a 30 s clip with 3 s windows is judged on [27, 30) s), or None when there is
    no later part to score
    (clips within one window; a note when the window or the part past it is too short)."""
    if window is None or seconds <= window:
        return None
    if window < MIN_SEGMENT_SECONDS or seconds < window + MIN_SEGMENT_SECONDS:
        notes.append(
            f"by-window figures need a window and a later part of at least "
            f"{MIN_SEGMENT_SECONDS:g} s each; the window is {window:g} s, the clips {seconds:g} s"
        )
        return None
    return {
        "first": [0.0, min(window, MAX_SECONDS)],
        # the end of the clip, where a continuation's drift has had longest to build up, and as
        # long as the first window so that both are estimated from equal lengths
        "later": [max(float(window), float(seconds) - min(window, MAX_SECONDS)), float(seconds)],
    }


def _metrics(rows, sources, classifier, manifest, config: EvalConfig, notes, windows) -> dict:
    return score(rows, sources, classifier=classifier, manifest=str(manifest), seed=config.seed,
                 resamples=config.bootstrap, notes=notes, windows=windows)  # fmt: skip


def _run_control(
    pipeline: Generator,
    texts: list[str],
    seconds: float,
    classifier: InstrumentClassifier | None,
    config: EvalConfig,
    notes: list[str],
    sources: dict[str, list[ClipAnalysis]],
) -> dict:
    """Generate from a derangement of the captions and add the "shuffled" source (when asked
    for and possible); -> what metrics.json records about the control."""
    if not config.control:
        notes.append("the shuffled control was not run (control off): no shuffled adherence")
        return {"run": False, "derangement": None}
    if len(texts) < 2:
        notes.append("the shuffled control needs at least 2 clips; it was not run")
        return {"run": False, "derangement": None}
    perm = derangement(texts, seed=config.seed)
    shuffled = [texts[p] for p in perm]
    audio = _generate(pipeline, shuffled, seconds, config, MAX_SECONDS)
    sources["shuffled"] = _analyse_all(audio, len(texts), classifier, "shuffled", config)
    same = sum(a == b for a, b in zip(shuffled, texts, strict=True))
    return {"run": True, "derangement": perm, "rows_with_identical_caption": same}


# ----------------------------------------------------------------------------- audio sources


def reference_seconds(generated_seconds: float, notes: list[str]) -> float:
    """How much of each real clip is scored: as much as the generated audio has (at most
    MAX_SECONDS), so that real, codec and generated audio are judged over equal lengths.

    A 3 s generated clip against a 10 s real one would be scored on a third of the beats and
    notes, and its tempo and key would look worse than the model makes them.
    """
    ref = min(float(generated_seconds), MAX_SECONDS)
    notes.append(f"real and codec audio scored over their first {ref:g} s, as long as the "
                 "generated audio")  # fmt: skip
    return ref


def _generate(
    pipeline: Generator, texts: Sequence[str], seconds: float, config: EvalConfig, keep: float
) -> Iterator[np.ndarray]:
    """The captions' audio at the config's batch size and seeds, each at most `keep` s long."""
    return generated_audio(pipeline, texts, seconds, batch_size=config.batch_size,
                           seed=config.seed, keep_seconds=keep)  # fmt: skip


def _codec_identity(codec, config: EvalConfig, notes: list[str]) -> dict | None:
    return codec_identity(codec, cached=config.cache_dir is not None, notes=notes)


def _analyse_all(
    audio: Iterator[np.ndarray],
    n: int,
    classifier: InstrumentClassifier | None,
    name: str,
    config: EvalConfig,
) -> list[ClipAnalysis]:
    return [
        analyse(wav, classifier=classifier)
        for wav in tqdm(audio, total=n, desc=f"eval {name}", disable=not config.progress)
    ]


def _analyse_source(
    name: str,
    rows: Sequence[dict],
    seconds: float,
    make_audio: Callable[[Sequence[dict], float], Iterator[np.ndarray]],
    classifier: InstrumentClassifier | None,
    config: EvalConfig,
    cache_stats: dict[str, dict],
    *,
    codec_identity: dict | None = None,
) -> list[ClipAnalysis]:
    """Analyses of the first `seconds` of a source made from the rows' own audio (real, codec),
    from the cache where it has them: only missing clips are decoded and analysed (and then
    stored). `make_audio(rows, seconds)` makes the audio."""
    if config.cache_dir is None or (name == "codec" and codec_identity is None):
        return _analyse_all(make_audio(rows, seconds), len(rows), classifier, name, config)
    cache = AnalysisCache(config.cache_dir, name, codec_identity=codec_identity,
                          classifier=classifier, seconds=seconds)  # fmt: skip
    keys = [clip_key(r["audio"]) for r in rows]
    found = cache.get(keys)
    todo = [i for i, a in enumerate(found) if a is None]
    audio = make_audio([rows[i] for i in todo], seconds)
    fresh = _analyse_all(audio, len(todo), classifier, name, config)
    cache.put([keys[i] for i in todo], fresh)
    for i, a in zip(todo, fresh, strict=True):
        found[i] = a
    cache_stats[name] = {"file": str(cache.path), "cached": len(rows) - len(todo),
                         "analysed": len(todo)}  # fmt: skip
    return found


def _analyse_generated(
    audio: Iterator[np.ndarray],
    n: int,
    classifier: InstrumentClassifier | None,
    config: EvalConfig,
    spans: dict | None,
) -> tuple[list[ClipAnalysis], dict | None]:
    """Generated wav[S] per clip -> analyses of the first MAX_SECONDS (the "generated" source),
    and with `spans` also of [0, window) and [window, end) (the by-window figures)."""
    whole, first, later = [], [], []
    limit = int(round(MAX_SECONDS * ANALYSIS_SR))
    for wav in tqdm(audio, total=n, desc="eval generated", disable=not config.progress):
        whole.append(analyse(wav[:limit], classifier=classifier))
        if spans is not None:
            first.append(analyse(_cut(wav, spans["first"]), classifier=classifier))
            later.append(analyse(_cut(wav, spans["later"]), classifier=classifier))
    if spans is None:
        return whole, None
    windows = {"window_seconds": config.window_seconds, "spans_s": spans, "first": first,
               "later": later}  # fmt: skip
    return whole, windows


def _cut(wav: np.ndarray, span: Sequence[float]) -> np.ndarray:
    """wav[S] at ANALYSIS_SR and [start, end) in seconds -> that part."""
    a, b = (int(round(t * ANALYSIS_SR)) for t in span)
    return wav[a:b]


# ----------------------------------------------------------------------------- scoring


def _estimates(
    rows: Sequence[dict], sources: dict[str, list[ClipAnalysis]], windows: dict | None
) -> list[dict]:
    """Per-clip reference and estimated values of every source (estimates.jsonl); with
    by-window figures also `generated_first_window` and `generated_later`."""
    parts = dict(sources)
    if windows is not None:
        parts |= {"generated_first_window": windows["first"], "generated_later": windows["later"]}
    out = []
    for i, r in enumerate(rows):
        rec: dict[str, object] = {
            "audio": r["audio"],
            "text": r["text"],
            "reference": reference_values(r),
        }
        for name, analyses in parts.items():
            e = analyses[i].estimate
            rec[name] = {
                **e.values(),
                "tempo": round(e.tempo_bpm, 2),
                "median_pitch": _finite(e.median_pitch),
                "notes_per_s": round(e.notes_per_s, 3),
            }
        out.append(rec)
    return out


def _finite(x: float) -> float | None:
    return None if not np.isfinite(x) else round(float(x), 2)
