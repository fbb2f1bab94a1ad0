"""One clip's audio -> every attribute estimate and its embedding; training the classifier."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from maskgmt.eval.attributes import ClipEstimate, reference_values
from maskgmt.eval.audio import load_analysis
from maskgmt.eval.features import mel_statistics, spectra, timbre_features
from maskgmt.eval.instrument import InstrumentClassifier
from maskgmt.eval.key import key_from_spectra
from maskgmt.eval.notes import note_rate_from_spectra
from maskgmt.eval.register import median_pitch_from_spectra
from maskgmt.eval.tempo import tempo_from_spectra
from maskgmt.progress import tqdm


@dataclass(frozen=True)
class ClipAnalysis:
    """Estimates of one clip plus its Fréchet embedding `mel_stats[MEL_STATS_DIM]`."""

    estimate: ClipEstimate
    mel_stats: np.ndarray


def analyse(wav: np.ndarray, *, classifier: InstrumentClassifier | None) -> ClipAnalysis:
    """Mono wav[S] at ANALYSIS_SR -> every estimate (instrument family only with a classifier)."""
    s = spectra(wav)  # shared by every estimator: one STFT, one CQT
    key, mode = key_from_spectra(s) or (None, None)
    family = None
    if classifier is not None:
        family = classifier.predict(timbre_features(s)[None])[0]
    est = ClipEstimate(
        tempo_bpm=tempo_from_spectra(s),
        key=key,
        mode=mode,
        median_pitch=median_pitch_from_spectra(s),
        instrument_family=family,
        notes_per_s=note_rate_from_spectra(s),
    )
    return ClipAnalysis(estimate=est, mel_stats=mel_statistics(s))


def train_classifier(
    rows: Sequence[dict], *, exclude: Sequence[str] = (), progress: bool = True
) -> InstrumentClassifier:
    """Fit the instrument-family classifier on the real audio of train-split `rows`.

    `exclude`: audio paths that must never be trained on (the test clips); a train row pointing
    at one of them is an overlap between splits and raises.
    """
    banned = set(exclude)
    overlap = sorted(r["audio"] for r in rows if r["audio"] in banned)
    if overlap:
        raise ValueError(
            f"train split: {len(overlap)} clip(s) are also in the evaluated split (first: "
            f"{overlap[0]}); the classifier must be trained on train audio only - fix the splits"
        )
    labelled = [r for r in rows if reference_values(r)["instrument_family"] is not None]
    if not labelled:
        raise ValueError(
            "train split: no row has 'instrument_family' or a known 'instrument'; "
            "the instrument classifier needs labelled train audio"
        )
    feats = [
        timbre_features(spectra(load_analysis(r["audio"])))
        for r in tqdm(labelled, desc="classifier features (train)", disable=not progress)
    ]
    return InstrumentClassifier.fit(
        features=np.stack(feats),
        labels=[str(reference_values(r)["instrument_family"]) for r in labelled],
        files=[r["audio"] for r in labelled],
    )
