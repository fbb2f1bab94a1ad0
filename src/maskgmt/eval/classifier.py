"""The instrument classifier an evaluation uses: loaded or trained on the train split, and never
one that saw the evaluated clips."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from maskgmt.eval.analyse import train_classifier
from maskgmt.eval.instrument import InstrumentClassifier
from maskgmt.eval.manifest import read_split


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
    check_not_trained_on(test_rows, clf)
    return clf


def check_not_trained_on(rows: Sequence[dict], classifier: InstrumentClassifier | None) -> None:
    """Refuse a classifier that saw any of `rows`' audio in training (a leak)."""
    if classifier is None:
        return
    seen = set(classifier.trained_on)
    leaked = [r["audio"] for r in rows if r["audio"] in seen]
    if leaked:
        raise ValueError(
            f"classifier: it was trained on {len(leaked)} clip(s) of the evaluated split (first: "
            f"{leaked[0]}); train it on the train split only"
        )
