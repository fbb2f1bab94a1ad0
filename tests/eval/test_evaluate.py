"""End to end: the four sources side by side, the report files, audio-dir mode, bad input."""

from __future__ import annotations

import json
import shutil

import pytest
import soundfile as sf
from conftest import OracleModel

from maskgmt.cli import main
from maskgmt.eval.evaluate import (
    EvalConfig,
    evaluate_audio_dir,
    evaluate_model,
)

N = 6  # clips in the end-to-end runs (the first six rows: all four families, all tempi)


@pytest.fixture(scope="module")
def model_run(rendered, classifier, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    model = OracleModel(rendered.test_rows, rendered.root)
    config = EvalConfig(seed=7, batch_size=4, limit=N, progress=False)
    metrics = evaluate_model(
        model, rendered.test, out_dir=out, classifier=classifier, config=config
    )
    return model, metrics, out


def test_report_files_hold_the_four_sources(model_run):
    _, metrics, out = model_run
    for name in ("metrics.json", "report.md", "accuracy.png", "estimates.jsonl"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "accuracy.png").read_bytes()[:4] == b"\x89PNG"
    on_disk = json.loads((out / "metrics.json").read_text())
    assert list(on_disk["sources"]) == ["real", "codec", "generated", "shuffled"]
    assert set(on_disk["accuracy"]) == {
        "instrument_family",
        "tempo",
        "tempo_word",
        "key",
        "mode",
        "register",
    }
    for entry in on_disk["accuracy"].values():
        assert {"real", "codec", "generated", "shuffled", "chance", "n"} <= set(entry)
        assert entry["n"] == N
    report = (out / "report.md").read_text()
    for title in (
        "real (ceiling)",
        "codec",
        "generated",
        "shuffled control",
        "Fréchet mel-statistics distance",
    ):
        assert title in report
    assert len((out / "estimates.jsonl").read_text().splitlines()) == N


def test_a_caption_following_model_matches_the_ceiling_and_the_control_does_not(model_run):
    _, metrics, _ = model_run
    acc = metrics["accuracy"]
    # The oracle returns the real clip for its caption: every estimate equals the real one's.
    for attr, e in acc.items():
        assert e["generated"] == e["real"], attr
    # Given another row's caption, it plays another row's clip: the attributes that vary across
    # these six rows must drop.
    assert acc["instrument_family"]["shuffled"] < acc["instrument_family"]["real"]
    assert acc["key"]["shuffled"] < acc["key"]["real"]
    fr = metrics["frechet"]["vs_real"]
    assert fr["generated"] == pytest.approx(0.0, abs=1e-6)
    assert fr["codec"] > 0  # 8-bit quantisation noise is audible in the mel statistics


def test_generation_is_batched_seeded_and_the_control_is_a_derangement(model_run, rendered):
    model, metrics, _ = model_run
    texts = [r["text"] for r in rendered.test_rows[:N]]
    calls = model.calls
    assert [len(c[0]) for c in calls] == [4, 2, 4, 2]  # generated, then shuffled, in batches
    assert [c[2] for c in calls] == [7, 8, 7, 8]  # the control reuses the same seeds
    assert all(c[1] == pytest.approx(4.0, abs=0.01) for c in calls)  # median real length
    generated = calls[0][0] + calls[1][0]
    shuffled = calls[2][0] + calls[3][0]
    assert generated == texts
    assert sorted(shuffled) == sorted(texts)
    assert all(s != t for s, t in zip(shuffled, texts, strict=False))
    assert metrics["control"]["derangement"] == [texts.index(s) for s in shuffled]


def test_audio_dir_mode_scores_a_folder_of_generated_audio(rendered, classifier, tmp_path):
    gen = tmp_path / "gen"
    gen.mkdir()
    for r in rendered.test_rows[:3]:
        shutil.copy(rendered.root / r["audio"], gen / (r["piece"] + ".wav"))
    config = EvalConfig(limit=3, progress=False)
    metrics = evaluate_audio_dir(
        gen, rendered.test, out_dir=tmp_path / "rep", classifier=classifier, config=config
    )
    assert list(metrics["sources"]) == ["real", "generated"]
    assert all(e["generated"] == e["real"] for e in metrics["accuracy"].values())
    (gen / "test_02.wav").unlink()
    with pytest.raises(FileNotFoundError, match="no generated file for 1 of 3 rows"):
        evaluate_audio_dir(gen, rendered.test, out_dir=tmp_path / "rep2", config=config)


def test_a_manifest_without_attributes_reports_only_the_distance(rendered, tmp_path):
    bare = tmp_path / "bare.jsonl"
    rows = [
        {"audio": str(rendered.root / r["audio"]), "text": r["text"]}
        for r in rendered.test_rows[:3]
    ]
    bare.write_text("".join(json.dumps(r) + "\n" for r in rows))
    gen = tmp_path / "gen"
    gen.mkdir()
    for r in rendered.test_rows[:3]:
        shutil.copy(rendered.root / r["audio"], gen / (r["piece"] + ".wav"))
    out = tmp_path / "rep"
    metrics = evaluate_audio_dir(gen, bare, out_dir=out, config=EvalConfig(progress=False))
    assert metrics["accuracy"] == {}
    assert "generated" in metrics["frechet"]["vs_real"]
    assert "only the Fréchet distance is reported" in (out / "report.md").read_text()
    assert (out / "accuracy.png").is_file()


def test_bad_splits_and_model_folders_give_clear_errors(rendered, tmp_path, capsys):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    model = OracleModel(rendered.test_rows, rendered.root)
    with pytest.raises(ValueError, match="has no clips"):
        evaluate_model(model, empty, out_dir=tmp_path / "r", config=EvalConfig(progress=False))
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"audio": "a.wav", "text": "x"}\n{not json\n')
    with pytest.raises(ValueError, match="broken.jsonl:2"):
        evaluate_model(model, broken, out_dir=tmp_path / "r", config=EvalConfig(progress=False))
    with pytest.raises(ValueError, match="batch_size"):
        EvalConfig(batch_size=0)
    # CLI: a folder that is no model, a model folder whose codec cannot be loaded, no source.
    args = ["eval", "--split", str(rendered.test), "--out", str(tmp_path / "cli"), "--no-progress"]
    assert main([*args, "--model", str(tmp_path / "nowhere"), "--limit", "2"]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert main(args) == 2
    assert "exactly one of --model" in capsys.readouterr().err


def test_cli_audio_dir_run_writes_the_report(rendered, classifier, tmp_path, capsys):
    gen = tmp_path / "gen"
    gen.mkdir()
    for r in rendered.test_rows[:2]:  # FLAC too: any extension soundfile reads is matched
        x, sr = sf.read(str(rendered.root / r["audio"]))
        sf.write(str(gen / (r["piece"] + ".flac")), x, sr)
    saved = classifier.save(tmp_path / "clf")
    out = tmp_path / "cli"
    code = main(["eval", "--audio-dir", str(gen), "--split", str(rendered.test), "--out", str(out),
                 "--classifier", str(saved), "--limit", "2", "--no-progress"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["mode"] == "audio_dir" and metrics["n_clips"] == 2
    assert metrics["classifier"]["n_train_clips"] == 12
    assert "real (ceiling)" in capsys.readouterr().out


def test_cli_refuses_a_model_folder_whose_codec_cannot_be_loaded(rendered, tmp_path, capsys):
    from maskgmt import MaskGmt, MaskGmtTransformer

    tiny = MaskGmtTransformer(num_tokens=16, seq_len=8, dim=16, n_q=2, depth=1, dim_head=8, heads=2)
    # The metadata names a local codec folder that was never written.
    MaskGmt(transformer=tiny, metadata={"codec": {"source": "codec"}}).save_pretrained(
        tmp_path / "m"
    )
    args = ["eval", "--model", str(tmp_path / "m"), "--split", str(rendered.test),
            "--out", str(tmp_path / "r"), "--no-progress"]  # fmt: skip
    assert main(args) == 2
    assert "codec" in capsys.readouterr().err
    assert not (tmp_path / "r" / "metrics.json").exists()


def test_a_single_clip_gives_a_reduced_report_not_a_crash(rendered, tmp_path):
    model = OracleModel(rendered.test_rows, rendered.root)
    out = tmp_path / "one"
    metrics = evaluate_model(
        model, rendered.test, out_dir=out, config=EvalConfig(limit=1, progress=False)
    )
    assert list(metrics["sources"]) == ["real", "codec", "generated"]  # no control with one clip
    assert metrics["frechet"]["vs_real"] == {}
    assert "instrument_family" in metrics["skipped"]  # no classifier was given
    report = (out / "report.md").read_text()
    assert "needs at least 2 clips" in report and "shuffled control needs at least 2" in report
