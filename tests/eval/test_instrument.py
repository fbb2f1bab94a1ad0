"""The instrument-family classifier: train audio only, accurate on test, saved without pickle."""

from __future__ import annotations

import json

import numpy as np
import pytest

from maskgmt.eval.audio import load_analysis
from maskgmt.eval.evaluate import load_or_train_classifier
from maskgmt.eval.features import spectra, timbre_features
from maskgmt.eval.instrument import InstrumentClassifier
from maskgmt.eval.manifest import read_split


def test_classifier_is_trained_on_train_audio_only(rendered, classifier):
    train_files = {r["audio"] for r in read_split(rendered.train)}
    test_files = {r["audio"] for r in read_split(rendered.test)}
    # It found train.jsonl beside test.jsonl, and recorded exactly those files.
    assert set(classifier.trained_on) == train_files
    assert not set(classifier.trained_on) & test_files


def test_classifier_is_well_above_chance_on_real_test_audio(rendered, classifier):
    rows = read_split(rendered.test)
    feats = np.stack([timbre_features(spectra(load_analysis(r["audio"]))) for r in rows])
    truth = [r["instrument_family"] for r in rows]
    acc = np.mean([p == t for p, t in zip(classifier.predict(feats), truth, strict=False)])
    assert acc >= 0.75, acc  # chance is 0.25 (four families, three clips each)


def test_save_and_load_round_trip_without_pickle(classifier, tmp_path):
    folder = classifier.save(tmp_path / "clf")
    assert sorted(p.name for p in folder.iterdir()) == ["classifier.json", "classifier.safetensors"]
    info = json.loads((folder / "classifier.json").read_text())
    assert info["trained_on"] == list(classifier.trained_on)
    again = InstrumentClassifier.load(folder)
    x = np.random.default_rng(0).normal(size=(5, classifier.mean.shape[0]))
    np.testing.assert_allclose(again.probabilities(x), classifier.probabilities(x))
    with pytest.raises(ValueError, match="columns"):
        again.predict(x[:, :3])
    with pytest.raises(FileNotFoundError, match="classifier.json"):
        InstrumentClassifier.load(tmp_path)


def test_training_on_the_evaluated_split_is_refused(rendered, classifier, tmp_path):
    with pytest.raises(ValueError, match="evaluated split itself"):
        load_or_train_classifier(rendered.test, train_split=rendered.test, progress=False)
    # A train manifest that shares a clip with the test split.
    leaky = tmp_path / "train.jsonl"
    test_line = (
        rendered.test.read_text().splitlines()[0].replace('"audio/', f'"{rendered.root}/audio/')
    )
    leaky.write_text(test_line + "\n")
    with pytest.raises(ValueError, match="also in the evaluated split"):
        load_or_train_classifier(rendered.test, train_split=leaky, progress=False)
    # A saved classifier that saw a test clip is refused at load time too.
    bad = InstrumentClassifier(
        **{**classifier.__dict__, "trained_on": (str(rendered.root / "audio/test_00.wav"),)}
    )
    bad.save(tmp_path / "bad")
    with pytest.raises(ValueError, match="trained on 1 clip"):
        load_or_train_classifier(rendered.test, saved=tmp_path / "bad", progress=False)


def test_one_family_is_not_enough():
    with pytest.raises(ValueError, match="at least 2 families"):
        InstrumentClassifier.fit(
            features=np.zeros((3, 4)), labels=["reed"] * 3, files=["a", "b", "c"]
        )
