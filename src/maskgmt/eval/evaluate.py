"""Text-adherence evaluation: estimate attributes from four audio sources and score them."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import soundfile as sf
import torch
from tqdm.auto import tqdm

from maskgmt.eval.analyse import ClipAnalysis, analyse, train_classifier
from maskgmt.eval.attributes import ATTRIBUTES, chance_accuracy, is_correct, reference_values
from maskgmt.eval.audio import ANALYSIS_SR, MAX_SECONDS, load_analysis, read_head, to_analysis
from maskgmt.eval.features import MEL_STATS_DIM
from maskgmt.eval.frechet import frechet_distance
from maskgmt.eval.instrument import InstrumentClassifier
from maskgmt.eval.manifest import read_split
from maskgmt.eval.report import write_report

SOURCES: dict[str, str] = {
    "real": "the split's own audio: the ceiling the estimators reach",
    "codec": "real audio through the codec, encode -> decode (what the tokens can carry)",
    "generated": "generated from each row's own caption",
    "shuffled": "generated from another row's caption (a derangement), scored against this "
    "row's attributes (what the model does without following the text)",
}
FRECHET_NAME = "Fréchet mel-statistics distance"
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")


class Generator(Protocol):
    """What `evaluate_model` needs from a model: `maskgmt.pipeline.TextToMusic` or a stand-in."""

    sample_rate: int  # Hz of what `generate` returns
    codec: object  # an AudioCodec: encode(wav[B,C,S], sr) -> codes[B,K,T], decode(codes) -> wav

    def generate(
        self, texts: list[str], *, seconds: float | None, seed: int | None
    ) -> torch.Tensor:
        """B captions -> wav[B, C, S] at `sample_rate`, `seconds` long, reproducible per seed."""
        ...


@dataclass(frozen=True)
class EvalConfig:
    """How to run an evaluation."""

    seed: int = 0  # generation batch b uses seed + b, for both the real and shuffled captions
    batch_size: int = 4  # captions per `generate` call
    seconds: float | None = None  # generated length; None: the median real clip length
    limit: int | None = None  # evaluate only the first N clips of the split
    progress: bool = True  # tqdm bars

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size: expected >= 1, got {self.batch_size}")
        if self.seconds is not None and not self.seconds > 0:
            raise ValueError(f"seconds: expected a positive length in seconds, got {self.seconds}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit: expected a positive number of clips, got {self.limit}")


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
    _check_not_trained_on(rows, classifier)
    real = _analyse_all(_real_audio(rows), rows, classifier, "real", config)
    seconds = config.seconds or _median_seconds(rows)
    texts = [str(r["text"]) for r in rows]
    perm = derangement(texts, seed=config.seed) if len(rows) >= 2 else None
    sources = {"real": real}
    sources["codec"] = _analyse_all(
        _codec_audio(rows, pipeline.codec), rows, classifier, "codec", config
    )
    sources["generated"] = _analyse_all(
        _generated_audio(pipeline, texts, seconds, config), rows, classifier, "generated", config
    )
    notes = []
    control = {"derangement": perm}
    if perm is None:
        notes.append("the shuffled control needs at least 2 clips; it was not run")
    else:
        shuffled = [texts[p] for p in perm]
        control["rows_with_identical_caption"] = sum(
            a == b for a, b in zip(shuffled, texts, strict=True)
        )
        sources["shuffled"] = _analyse_all(
            _generated_audio(pipeline, shuffled, seconds, config),
            rows,
            classifier,
            "shuffled",
            config,
        )
    metrics = _score(rows, sources, classifier, manifest, config, notes)
    metrics["mode"] = "model"
    metrics["seconds"] = seconds
    metrics["control"] = control
    write_report(metrics, _estimates(rows, sources), out_dir)
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
    AUDIO_EXTENSIONS. Sources: real and generated (no codec or control without a model).
    """
    rows = read_split(manifest, limit=config.limit)
    _check_not_trained_on(rows, classifier)
    files = _match_files(Path(audio_dir), rows)
    real = _analyse_all(_real_audio(rows), rows, classifier, "real", config)
    gen_audio = (load_analysis(f) for f in files)
    sources = {
        "real": real,
        "generated": _analyse_all(gen_audio, rows, classifier, "generated", config),
    }
    notes = [
        f"generated audio read from {audio_dir}; codec and shuffled-control sources need a model"
    ]
    metrics = _score(rows, sources, classifier, manifest, config, notes)
    metrics["mode"] = "audio_dir"
    metrics["audio_dir"] = str(audio_dir)
    write_report(metrics, _estimates(rows, sources), out_dir)
    return metrics


# ----------------------------------------------------------------------------- audio sources


def _real_audio(rows: Sequence[dict]) -> Iterator[np.ndarray]:
    for r in rows:
        yield load_analysis(r["audio"])


def _codec_audio(rows: Sequence[dict], codec) -> Iterator[np.ndarray]:
    if codec is None:
        raise ValueError("pipeline.codec: the model has no codec; the codec source needs one")
    for r in rows:
        data, sr = read_head(r["audio"])
        wav = torch.from_numpy(data)[None]  # [1, C, S]
        with torch.inference_mode():
            out = codec.decode(codec.encode(wav, sr))  # [1, C', S']
        yield to_analysis(_as_numpy(out, 1)[0], int(codec.sample_rate))


def _generated_audio(
    pipeline: Generator, texts: Sequence[str], seconds: float, config: EvalConfig
) -> Iterator[np.ndarray]:
    b = config.batch_size
    for n, start in enumerate(range(0, len(texts), b)):
        batch = list(texts[start : start + b])
        with torch.inference_mode():
            wav = pipeline.generate(batch, seconds=seconds, seed=config.seed + n)
        for clip in _as_numpy(wav, len(batch)):
            yield to_analysis(clip, int(pipeline.sample_rate))


def _as_numpy(wav, batch: int) -> np.ndarray:
    """wav[B, C, S] tensor or array -> float32 array, checking the batch size."""
    x = (
        wav.detach().cpu().float().numpy()
        if isinstance(wav, torch.Tensor)
        else np.asarray(wav, np.float32)
    )
    if x.ndim != 3 or x.shape[0] != batch:
        raise ValueError(
            f"generated/decoded audio: expected wav[B={batch}, C, S], got shape {x.shape}"
        )
    return x


def _analyse_all(
    audio: Iterator[np.ndarray],
    rows: Sequence[dict],
    classifier: InstrumentClassifier | None,
    name: str,
    config: EvalConfig,
) -> list[ClipAnalysis]:
    return [
        analyse(wav, classifier=classifier)
        for wav in tqdm(audio, total=len(rows), desc=f"eval {name}", disable=not config.progress)
    ]


def _median_seconds(rows: Sequence[dict]) -> float:
    lengths = []
    for r in rows:
        info = sf.info(r["audio"])
        lengths.append(min(info.frames / info.samplerate, MAX_SECONDS))
    return float(np.median(lengths))


def _match_files(audio_dir: Path, rows: Sequence[dict]) -> list[Path]:
    if not audio_dir.is_dir():
        raise FileNotFoundError(
            f"audio dir {audio_dir} does not exist; expected a folder of generated audio"
        )
    found, missing = [], []
    for r in rows:
        stem = Path(r["audio"]).stem
        hits = [audio_dir / f"{stem}{ext}" for ext in AUDIO_EXTENSIONS]
        hits = [h for h in hits if h.is_file()]
        if hits:
            found.append(hits[0])
        else:
            missing.append(stem)
    if missing:
        raise FileNotFoundError(
            f"audio dir {audio_dir}: no generated file for {len(missing)} of {len(rows)} rows "
            f"(first: {missing[0]}); name each file after its row's audio file, e.g. "
            f"{missing[0]}.wav"
        )
    return found


# ----------------------------------------------------------------------------- scoring


def _check_not_trained_on(rows: Sequence[dict], classifier: InstrumentClassifier | None) -> None:
    if classifier is None:
        return
    seen = set(classifier.trained_on)
    leaked = [r["audio"] for r in rows if r["audio"] in seen]
    if leaked:
        raise ValueError(
            f"classifier: it was trained on {len(leaked)} clip(s) of the evaluated split (first: "
            f"{leaked[0]}); train it on the train split only"
        )


def _score(
    rows: Sequence[dict],
    sources: dict[str, list[ClipAnalysis]],
    classifier: InstrumentClassifier | None,
    manifest: str | Path,
    config: EvalConfig,
    notes: list[str],
) -> dict:
    refs = [reference_values(r) for r in rows]
    accuracy: dict[str, dict] = {}
    skipped: dict[str, str] = {}
    for attr, description in ATTRIBUTES.items():
        idx = [i for i, ref in enumerate(refs) if ref[attr] is not None]
        if not idx:
            skipped[attr] = "the manifest has no reference for it"
            continue
        if attr == "instrument_family" and classifier is None:
            skipped[attr] = "no instrument classifier (pass a train split to train one)"
            continue
        entry: dict[str, object] = {
            "description": description,
            "n": len(idx),
            "chance": chance_accuracy(attr, [refs[i][attr] for i in idx]),
        }
        for name, analyses in sources.items():
            hits = [
                is_correct(attr, analyses[i].estimate.values()[attr], refs[i][attr]) for i in idx
            ]
            entry[name] = float(np.mean(hits))
        accuracy[attr] = entry
    if not accuracy:
        notes.append(
            "the manifest has no attribute fields (instrument_family, tempo_bpm, key, mode, "
            "register, ...): only the Fréchet distance is reported"
        )
    return {
        "kind": "maskgmt.eval",
        "split": str(manifest),
        "n_clips": len(rows),
        "seed": config.seed,
        "analysis": {"sample_rate": ANALYSIS_SR, "max_seconds": MAX_SECONDS},
        "sources": {k: SOURCES[k] for k in sources},
        "accuracy": accuracy,
        "skipped": skipped,
        "frechet": _frechet(sources),
        "classifier": None
        if classifier is None
        else {
            "classes": list(classifier.classes),
            "n_train_clips": len(classifier.trained_on),
            "train_accuracy": classifier.train_accuracy,
        },
        "notes": notes,
    }


def _frechet(sources: dict[str, list[ClipAnalysis]]) -> dict:
    out: dict[str, object] = {
        "name": FRECHET_NAME,
        "embedding": "per-band mean and std of a 64-band log-mel spectrogram (dB), "
        f"{MEL_STATS_DIM} dims",
        "regularisation": "Ledoit-Wolf shrunk covariances (few clips, many dims); compare "
        "distances only between sets of the same size",
        "floor": "codec" if "codec" in sources else None,
        "vs_real": {},
    }
    real = np.stack([a.mel_stats for a in sources["real"]])
    if real.shape[0] < 2:
        out["note"] = "needs at least 2 clips; not computed"
        return out
    for name, analyses in sources.items():
        if name != "real":
            out["vs_real"][name] = frechet_distance(real, np.stack([a.mel_stats for a in analyses]))
    return out


def _estimates(rows: Sequence[dict], sources: dict[str, list[ClipAnalysis]]) -> list[dict]:
    """Per-clip reference and estimated values of every source (estimates.jsonl)."""
    out = []
    for i, r in enumerate(rows):
        rec: dict[str, object] = {
            "audio": r["audio"],
            "text": r["text"],
            "reference": reference_values(r),
        }
        for name, analyses in sources.items():
            e = analyses[i].estimate
            rec[name] = {
                **e.values(),
                "tempo": round(e.tempo_bpm, 2),
                "median_pitch": _finite(e.median_pitch),
            }
        out.append(rec)
    return out


def _finite(x: float) -> float | None:
    return None if not np.isfinite(x) else round(float(x), 2)


def load_or_train_classifier(
    split: str | Path,
    *,
    train_split: str | Path | None = None,
    saved: str | Path | None = None,
    save_to: str | Path | None = None,
    progress: bool = True,
) -> InstrumentClassifier | None:
    """The instrument classifier for evaluating `split`.

    `saved`: load that folder. Else train on `train_split`, or on `train.jsonl` beside `split`
    (the corpus layout) when it exists, and save to `save_to`. None when there is no train audio.
    Either way, a classifier that saw any clip of `split` is refused.
    """
    test_rows = read_split(split)
    if saved is not None:
        clf = InstrumentClassifier.load(saved)
    else:
        if train_split is None:
            sibling = Path(split).parent / "train.jsonl"
            if not sibling.is_file() or sibling.resolve() == Path(split).resolve():
                return None
            train_split = sibling
        if Path(train_split).resolve() == Path(split).resolve():
            raise ValueError(
                f"train_split: {train_split} is the evaluated split itself; the classifier must "
                "be trained on the train split only"
            )
        rows = read_split(train_split)
        clf = train_classifier(rows, exclude=[r["audio"] for r in test_rows], progress=progress)
        if save_to is not None:
            clf.save(save_to)
    _check_not_trained_on(test_rows, clf)
    return clf
