"""`maskgmt eval --model`: the evaluator drives the real TextToMusic pipeline end to end."""

from __future__ import annotations

import json
from pathlib import Path

from maskgmt.cli import main
from maskgmt.data.corpus import build_corpus


def test_eval_generates_with_the_model_folder_and_reports_four_sources(
    model_dir: Path, tmp_path: Path
) -> None:
    corpus = build_corpus(tmp_path / "corpus", clips=12, seconds=2.0, seed=5, progress=False)
    out = tmp_path / "report"
    rc = main(["eval", "--model", str(model_dir), "--split", str(corpus.manifest("test")),
               "--out", str(out), "--limit", "2", "--seconds", "1", "--no-progress"])  # fmt: skip
    assert rc == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["sources"]) == {"real", "codec", "generated", "shuffled"}
    assert (out / "report.md").read_text().count("|") > 20
    assert (out / "accuracy.png").stat().st_size > 1000
