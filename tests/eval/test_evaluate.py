"""End to end: the four sources side by side, the report files, audio-dir mode, bad input."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
import soundfile as sf
from conftest import CountingCodec, DriftingModel, OracleModel

from maskgmt.cli import main
from maskgmt.eval.evaluate import (
    EvalConfig,
    evaluate_audio_dir,
    evaluate_model,
)

N = 6  # clips in the end-to-end runs (the first six rows: all four families, all tempi)


def _first_table(markdown: str) -> list[str]:
    """The first markdown table, as the demo takes it (its consecutive `|` lines)."""
    lines = markdown.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("|"))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return lines[start:end]


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
        for name in ("chance", "real", "codec", "generated", "shuffled"):
            lo, hi = entry["ci"][name]
            assert lo <= entry[name] <= hi, name
    assert set(on_disk["adherence"]) == set(on_disk["accuracy"])
    for entry in on_disk["adherence"].values():
        assert {"generated", "shuffled", "codec_gap"} <= set(entry["ci"])
    assert set(on_disk["note_activity"]["notes_per_s"]["ci"]) == set(on_disk["sources"])
    assert on_disk["bootstrap"]["resamples"] == 1000
    report = (out / "report.md").read_text()
    for title in (
        "real (ceiling)",
        "codec",
        "generated",
        "shuffled control",
        "Fréchet mel-statistics distance",
    ):
        assert title in report
    estimates = [json.loads(line) for line in (out / "estimates.jsonl").read_text().splitlines()]
    assert len(estimates) == N
    assert all(e["generated"]["notes_per_s"] == e["real"]["notes_per_s"] > 0 for e in estimates)
    # The first table (what the demo embeds): every source with its interval, and adherence.
    table = _first_table(report)
    assert "adherence (generated)" in table[0] and "codec gap" in table[0]
    assert len(table) == 2 + len(on_disk["accuracy"])
    assert all(row.count("% [") == 5 for row in table[2:])  # chance and the four sources
    assert "## Note activity" in report and "## By window" not in report


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
    # Adherence: generated equals real, so it is real's over the codec's margin above chance.
    for attr, e in metrics["adherence"].items():
        a = acc[attr]
        if a["codec"] > a["chance"]:
            want = (a["real"] - a["chance"]) / (a["codec"] - a["chance"])
            assert e["generated"] == pytest.approx(want), attr
        assert e["codec_gap"] == pytest.approx(a["real"] - a["codec"]), attr
    notes = metrics["note_activity"]
    assert notes["ratio_to_real"]["generated"] == pytest.approx(1.0)
    assert notes["ratio_to_real"]["ci"]["generated"] == pytest.approx([1.0, 1.0])  # paired
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
    report = (out / "report.md").read_text()
    assert "only the Fréchet distance and note activity are reported" in report
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
    captured = capsys.readouterr()
    assert "real (ceiling)" in captured.out
    assert "warning: only 2 clips scored (fewer than 200)" in captured.err


def test_cli_refuses_a_model_folder_whose_codec_cannot_be_loaded(rendered, tmp_path, capsys):
    from maskgmt.model import debug_model

    # The metadata names a local codec folder that was never written.
    tiny = debug_model(
        seed=None, num_tokens=16, seq_len=8, dim=16, n_q=2, depth=1, dim_head=8, heads=2,
        text_dim=384, metadata={"codec": {"source": "codec"}},
    )  # fmt: skip
    tiny.save_pretrained(tmp_path / "m")
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


def test_control_off_generates_and_reports_no_shuffled_source(rendered, tmp_path):
    model = OracleModel(rendered.test_rows, rendered.root)
    config = EvalConfig(limit=4, progress=False, control=False)
    metrics = evaluate_model(model, rendered.test, out_dir=tmp_path / "r", config=config)
    assert list(metrics["sources"]) == ["real", "codec", "generated"]
    assert [len(c[0]) for c in model.calls] == [4]  # one batch: the captions themselves only
    assert metrics["control"] == {"run": False, "derangement": None}
    assert all("shuffled" not in e for e in metrics["accuracy"].values())
    assert all("shuffled" not in e for e in metrics["adherence"].values())
    assert "shuffled" not in metrics["note_activity"]["notes_per_s"]
    assert "shuffled control" not in _first_table((tmp_path / "r" / "report.md").read_text())[0]


def test_by_window_figures_catch_a_model_that_drones_after_its_first_window(rendered, tmp_path):
    model = DriftingModel(rendered.test_rows, rendered.root, window=4.0)
    config = EvalConfig(limit=4, progress=False, control=False, seconds=8.0, window_seconds=4.0)
    out = tmp_path / "r"
    metrics = evaluate_model(model, rendered.test, out_dir=out, config=config)
    bw = metrics["by_window"]
    assert bw["spans_s"] == {"first": [0.0, 4.0], "later": [4.0, 8.0]} and bw["n"] == 4
    rate = bw["notes_per_s"]
    # The first window is the real clip; the later part one held tone (one note in 4 s).
    assert rate["first"] == pytest.approx(rate["real"])
    assert rate["later"] <= 0.26 and rate["ci"]["later_minus_first"][1] < 0
    assert bw["ratio_to_real"]["first"] == pytest.approx(1.0) and bw["ratio_to_real"]["later"] < 0.2
    for attr, acc in bw["accuracy"].items():
        assert acc["first"] == pytest.approx(metrics["accuracy"][attr]["real"]), attr
    assert bw["accuracy"]["key"]["later"] < bw["accuracy"]["key"]["first"]
    assert bw["adherence"]["key"]["later_minus_first"] < 0
    report = (out / "report.md").read_text()
    assert "## By window" in report and "[4, 8) s" in report
    est = json.loads((out / "estimates.jsonl").read_text().splitlines()[0])
    assert est["generated_first_window"]["notes_per_s"] == est["real"]["notes_per_s"]
    assert est["generated_later"]["notes_per_s"] <= 0.26
    # Clips within one window have no later part: no by-window section.
    one = evaluate_model(model, rendered.test, out_dir=tmp_path / "one",
                         config=EvalConfig(limit=2, progress=False, control=False,
                                           window_seconds=4.0))  # fmt: skip
    assert "by_window" not in one


def test_the_cache_reuses_real_and_codec_analyses(rendered, tmp_path, monkeypatch):
    import maskgmt.eval.evaluate as ev

    calls = []
    real_analyse = ev.analyse
    monkeypatch.setattr(ev, "analyse", lambda wav, **kw: calls.append(1) or real_analyse(wav, **kw))

    def run(codec_name: str, tag: str):
        model = OracleModel(rendered.test_rows, rendered.root)
        model.codec = CountingCodec(model.sample_rate, codec_name)
        calls.clear()
        config = EvalConfig(limit=4, progress=False, control=False, cache_dir=tmp_path / "cache")
        metrics = evaluate_model(model, rendered.test, out_dir=tmp_path / tag, config=config)
        return metrics, model.codec.encodes, len(calls)

    first, encodes, analysed = run("q", "a")
    assert (encodes, analysed) == (4, 12)  # real, codec and generated, 4 clips each
    assert first["cache"]["real"] == {"file": first["cache"]["real"]["file"], "cached": 0,
                                      "analysed": 4}  # fmt: skip
    again, encodes, analysed = run("q", "b")
    assert (encodes, analysed) == (0, 4)  # only the generated audio; the codec never ran
    assert again["cache"]["codec"]["cached"] == 4
    for attr, e in first["accuracy"].items():
        assert (again["accuracy"][attr]["real"], again["accuracy"][attr]["codec"]) == (
            e["real"], e["codec"]), attr  # fmt: skip
    assert again["frechet"]["vs_real"] == pytest.approx(first["frechet"]["vs_real"])
    # Another codec: its own analyses, the real ones still cached.
    other, encodes, analysed = run("other", "c")
    assert (encodes, analysed) == (4, 8) and other["cache"]["real"]["cached"] == 4
    # Touched audio (new mtime) is analysed again, for every source made from it.
    audio = rendered.root / rendered.test_rows[0]["audio"]
    os.utime(audio, ns=(audio.stat().st_atime_ns, audio.stat().st_mtime_ns + 10**9))
    _, encodes, analysed = run("q", "d")
    assert (encodes, analysed) == (1, 6)
    # Plain numpy on disk: readable without pickle.
    with np.load(first["cache"]["real"]["file"], allow_pickle=False) as z:
        assert z["mel_stats"].shape[0] == 4 and len(z["keys"]) == 4


def test_real_and_codec_are_scored_over_the_generated_length(rendered, tmp_path, monkeypatch):
    """A 2 s generated clip is judged against the first 2 s of its 4 s real clip, not all 4 s:
    tempo and key from more beats would make a perfect model look worse than its reference."""
    import maskgmt.eval.evaluate as ev
    from maskgmt.eval.audio import ANALYSIS_SR

    lengths = []
    real_analyse = ev.analyse
    monkeypatch.setattr(
        ev, "analyse", lambda wav, **kw: lengths.append(len(wav)) or real_analyse(wav, **kw)
    )
    model = OracleModel(rendered.test_rows, rendered.root)
    config = EvalConfig(limit=3, progress=False, control=False, seconds=2.0)
    metrics = evaluate_model(model, rendered.test, out_dir=tmp_path / "r", config=config)
    assert len(lengths) == 9  # real, codec, generated
    assert all(abs(n - 2 * ANALYSIS_SR) <= ANALYSIS_SR // 50 for n in lengths), lengths
    assert any("first 2 s" in note for note in metrics["notes"])
    # The oracle returns the real clip's head: equal lengths give it the real audio's scores.
    for attr, e in metrics["accuracy"].items():
        assert e["generated"] == e["real"], attr


def test_the_later_part_of_a_long_clip_is_its_end():
    """A 30 s output is judged where drift is worst, its end, over as long as the first window."""
    from maskgmt.eval.evaluate import window_spans

    notes: list[str] = []
    assert window_spans(30.0, 3.0, notes) == {"first": [0.0, 3.0], "later": [27.0, 30.0]}
    assert window_spans(5.0, 3.0, notes) == {"first": [0.0, 3.0], "later": [3.0, 5.0]}
    assert window_spans(6.0, 3.0, notes) == {"first": [0.0, 3.0], "later": [3.0, 6.0]}
    assert window_spans(3.0, 3.0, notes) is None and not notes
