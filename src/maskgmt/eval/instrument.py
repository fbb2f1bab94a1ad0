"""The instrument-family classifier: multinomial logistic regression on `timbre_features`.

Trained on real train-split audio only; it records the files it saw so that evaluation can refuse
to score a clip it was trained on. Saved as `classifier.safetensors` (weights) + `classifier.json`
(classes, files, settings): no pickle.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

WEIGHTS_FILE = "classifier.safetensors"
INFO_FILE = "classifier.json"


@dataclass(frozen=True, eq=False)  # arrays inside: identity equality, not elementwise
class InstrumentClassifier:
    """Standardise features, then softmax(W x + b) over `classes`.

    Shapes: F features, N classes. `mean[F]`, `scale[F]` standardise; `weight[N, F]`, `bias[N]`.
    """

    classes: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    weight: np.ndarray
    bias: np.ndarray
    trained_on: tuple[str, ...]  # resolved paths of the training audio, in training order
    train_accuracy: float

    @classmethod
    def fit(
        cls, *, features: np.ndarray, labels: list[str], files: list[str], c: float = 1.0
    ) -> InstrumentClassifier:
        """features[M, F] of M training clips, their family labels and audio paths -> classifier.

        `c` is the inverse L2 strength: small corpora (tens of clips for ~10 families) need it.
        """
        from sklearn.linear_model import LogisticRegression

        x = np.asarray(features, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] != len(labels) or len(files) != len(labels):
            raise ValueError(
                f"features/labels/files: expected features[M, F] with M labels and M files, got "
                f"{x.shape}, {len(labels)} labels, {len(files)} files"
            )
        classes = sorted(set(labels))
        if len(classes) < 2:
            raise ValueError(
                f"labels: the instrument classifier needs at least 2 families in the training "
                f"split, got {classes}; use a train split with more than one instrument family"
            )
        mean = x.mean(axis=0)
        scale = x.std(axis=0)
        scale[scale < 1e-8] = 1.0  # constant features carry nothing; avoid dividing by 0
        z = (x - mean) / scale
        lr = LogisticRegression(C=c, max_iter=2000)
        lr.fit(z, labels)
        if lr.coef_.shape[0] == 1:  # sklearn's binary case keeps one row; make it N rows
            weight = np.concatenate([-lr.coef_, lr.coef_]) / 2
            bias = np.concatenate([-lr.intercept_, lr.intercept_]) / 2
        else:
            weight, bias = lr.coef_, lr.intercept_
        model = cls(
            classes=tuple(str(k) for k in lr.classes_),
            mean=mean,
            scale=scale,
            weight=np.asarray(weight, dtype=np.float64),
            bias=np.asarray(bias, dtype=np.float64),
            trained_on=tuple(str(f) for f in files),
            train_accuracy=0.0,
        )
        acc = float(np.mean([p == t for p, t in zip(model.predict(x), labels, strict=True)]))
        return cls(**{**model.__dict__, "train_accuracy": acc})

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """features[M, F] -> [M, N] class probabilities (columns follow `classes`)."""
        x = np.atleast_2d(np.asarray(features, dtype=np.float64))
        if x.shape[1] != self.mean.shape[0]:
            raise ValueError(
                f"features: expected {self.mean.shape[0]} columns (the classifier's feature "
                f"size), got {x.shape[1]}; was it trained with a different feature extractor?"
            )
        logits = ((x - self.mean) / self.scale) @ self.weight.T + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, features: np.ndarray) -> list[str]:
        """features[M, F] -> M family names."""
        return [self.classes[i] for i in self.probabilities(features).argmax(axis=1)]

    def fingerprint(self) -> str:
        """A short hash of the classes and weights: two classifiers that predict alike share it
        (the analysis cache keys cached family estimates on it)."""
        h = hashlib.sha256(json.dumps(list(self.classes)).encode())
        for a in (self.mean, self.scale, self.weight, self.bias):
            h.update(np.ascontiguousarray(a, dtype=np.float64).tobytes())
        return h.hexdigest()[:16]

    def save(self, directory: str | Path) -> Path:
        """Write classifier.safetensors + classifier.json into `directory` (created)."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        tensors = {"mean": self.mean, "scale": self.scale, "weight": self.weight, "bias": self.bias}
        save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(d / WEIGHTS_FILE))
        info = {
            "kind": "logistic_regression_on_timbre_features",
            "classes": list(self.classes),
            "trained_on": list(self.trained_on),
            "train_accuracy": self.train_accuracy,
        }
        (d / INFO_FILE).write_text(json.dumps(info, indent=2))
        return d

    @classmethod
    def load(cls, directory: str | Path) -> InstrumentClassifier:
        """Read a folder written by `save`."""
        d = Path(directory)
        if not (d / WEIGHTS_FILE).is_file() or not (d / INFO_FILE).is_file():
            raise FileNotFoundError(
                f"classifier folder {d} lacks {WEIGHTS_FILE} or {INFO_FILE}; "
                "pass a folder written by InstrumentClassifier.save (or by `maskgmt eval`)"
            )
        t = _read_weights(d / WEIGHTS_FILE)
        info = _read_info(d / INFO_FILE)
        return cls(
            classes=tuple(info["classes"]),
            mean=t["mean"],
            scale=t["scale"],
            weight=t["weight"],
            bias=t["bias"],
            trained_on=tuple(info["trained_on"]),
            train_accuracy=float(info["train_accuracy"]),
        )


def _read_info(path: Path) -> dict:
    """classifier.json, with a damaged file reported as one ValueError naming it."""
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(
            f"{path} is not valid JSON ({e}); delete its folder to train the classifier again"
        ) from None
    if not isinstance(info, dict):
        raise ValueError(f"{path}: expected a JSON object, got {type(info).__name__}")
    return info


def _read_weights(path: Path) -> dict[str, np.ndarray]:
    """classifier.safetensors, with a damaged file reported as one ValueError naming it."""
    from safetensors import SafetensorError

    try:
        return load_file(str(path))
    except (SafetensorError, OSError) as e:
        raise ValueError(
            f"{path} is not a readable safetensors file ({e}); delete its folder to train the "
            "classifier again"
        ) from None
