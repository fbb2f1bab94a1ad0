"""End-to-end corpus build: audio, manifests, captions, splits, determinism, resume, errors."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from corpus_helpers import CLIPS, SECONDS, SEED, build, read_rows

from maskgmt.data.attributes import (
    INSTRUMENTS,
    MODES,
    PITCH_CLASSES,
    pitch_class_of,
    register_word,
    tempo_word,
)
from maskgmt.data.corpus import DYNAMICS_RMS_DBFS, SPLITS, build_corpus, load_piece, plan_clip
from maskgmt.data.corpus.captions import SOLO_WORDS
from maskgmt.data.corpus.catalog import candidate_pieces
from maskgmt.data.corpus.keyfind import find_key
from maskgmt.data.corpus.render import PEAK_CEILING_DBFS

CONTRACT_FIELDS = {
    "audio", "text", "piece", "instrument", "instrument_family", "program", "tempo_bpm",
    "tempo_word", "register", "melody_median_pitch", "transpose", "key", "mode", "meter",
    "dynamics", "accompaniment", "duration", "sample_rate",
}  # fmt: skip


def _db(x: float) -> float:
    return 20 * np.log10(max(x, 1e-12))


def test_every_clip_is_there_nonsilent_mono_and_exactly_long(built):
    rows = built.all_rows
    assert len(rows) == CLIPS and built.report.failed_clips == []
    for row in rows:
        path = built.out / row["audio"]
        assert not row["audio"].startswith("/") and path.is_file()
        info = sf.info(path)
        assert (info.samplerate, info.channels, info.subtype) == (24_000, 1, "PCM_16")
        assert info.frames == round(SECONDS * 24_000)
        wav, _ = sf.read(path, dtype="float64")
        rms, peak = _db(np.sqrt(np.mean(wav**2))), _db(np.abs(wav).max())
        # Loudness: the dynamics word's RMS target, unless the peak ceiling had to pull it down.
        target = DYNAMICS_RMS_DBFS[row["dynamics"]]
        assert peak <= PEAK_CEILING_DBFS + 0.05
        assert rms <= target + 0.1 and (rms >= target - 0.1 or peak >= PEAK_CEILING_DBFS - 0.1)
        # Sound all the way through, not one note and then silence.
        quarters = np.array_split(wav, 4)
        assert all(_db(np.sqrt(np.mean(q**2))) > target - 30 for q in quarters)


def test_rows_carry_the_contract_fields_with_consistent_values(built):
    for row in built.all_rows:
        assert row.keys() >= CONTRACT_FIELDS
        inst = INSTRUMENTS[row["instrument"]]
        assert (row["instrument_family"], row["program"]) == (inst.family, inst.program)
        assert row["tempo_word"] == tempo_word(row["tempo_bpm"])
        assert row["register"] == register_word(row["melody_median_pitch"])
        assert row["key"] in PITCH_CLASSES and row["mode"] in MODES
        assert re.fullmatch(r"\d+/\d+", row["meter"])
        assert row["dynamics"] in DYNAMICS_RMS_DBFS
        assert row["accompaniment"] is None or (
            row["accompaniment"] in INSTRUMENTS and row["accompaniment"] != row["instrument"]
        )
        assert (row["duration"], row["sample_rate"]) == (SECONDS, 24_000)


def test_rows_are_the_plans_of_their_scores(built):
    # Re-planning a clip from the cached score gives the row back: the manifest records what
    # was rendered, and the key/mode are those of the transposed notes the clip plays.
    refs = {r.piece: r for r in candidate_pieces(("bach", "essen", "ryans"), SEED)}
    for row in built.all_rows:
        piece = load_piece(refs[row["piece"]], built.cache)
        index = int(row["id"].split("-")[0])
        plan = plan_clip(piece, index=index, seconds=SECONDS, seed=SEED, accompaniment_prob=0.5)
        a = plan.attributes
        assert {k: row[k] for k in vars(a)} == vars(a)
        heard = a.tempo_bpm * SECONDS / 60
        notes = [(n.pitch, min(n.duration, heard - n.onset)) for n in plan.notes if n.onset < heard]
        assert find_key(notes) == (pitch_class_of(row["key"]), row["mode"])
        assert row["meter"] == piece.meter


def test_each_caption_states_its_rows_attributes(built):
    for row in built.all_rows:
        text = row["text"]
        names = INSTRUMENTS[row["instrument"]].names
        assert any(n.lower() in text.lower() for n in names), text
        assert row["tempo_word"] in text or f"{round(row['tempo_bpm'])} BPM" in text, text
        assert row["register"] in text, text
        assert f"{row['key']} {row['mode']}" in text, text
        assert row["meter"] in text, text
        assert row["dynamics"] in text.lower(), text
        if row["accompaniment"] is None:
            assert any(w in text for w in SOLO_WORDS), text
        else:
            acc = INSTRUMENTS[row["accompaniment"]].names
            assert any(n.lower() in text.lower() for n in acc), text
    # Not one sentence pattern: captions differ beyond their attribute words.
    shapes = {
        re.sub(r"[A-G][#b]? (major|minor)|\d+/\d+|\d+ BPM", "_", r["text"]).split()[0]
        for r in built.all_rows
    }
    assert len(shapes) >= 3


def test_solo_clips_sound_at_the_recorded_melody_pitch(built):
    import librosa

    solo = [r for r in built.all_rows if r["accompaniment"] is None][:2]
    assert solo, "the seed-0 build should contain solo clips"
    for row in solo:
        wav, sr = sf.read(built.out / row["audio"], dtype="float32")
        f0, voiced, _ = librosa.pyin(wav, fmin=50, fmax=2000, sr=sr, frame_length=2048)
        heard = float(np.median(librosa.hz_to_midi(f0[voiced])))
        assert abs(heard - row["melody_median_pitch"]) <= 1.0, (row["instrument"], heard)


def test_splits_share_no_piece_and_none_is_empty(built):
    pieces = {s: {r["piece"] for r in built.rows[s]} for s in SPLITS}
    assert all(pieces[s] for s in SPLITS)
    assert not (pieces["train"] & pieces["valid"] or pieces["train"] & pieces["test"])
    assert not pieces["valid"] & pieces["test"]
    assert pieces == {s: set(built.report.pieces[s]) for s in SPLITS}
    report = (built.out / "report.json").read_text()
    assert '"skipped_pieces"' in report and '"failed_clips"' in report


def test_same_seed_gives_identical_manifests_and_audio(built, tmp_path):
    # The second build reads the scores from the cache the first one wrote: also a check
    # that cached scores and freshly parsed ones give the same corpus.
    again = build(tmp_path / "again", built.cache)
    for split in SPLITS:
        first = (built.out / f"{split}.jsonl").read_bytes()
        assert (again.out / f"{split}.jsonl").read_bytes() == first
    for row in built.all_rows:
        assert (again.out / row["audio"]).read_bytes() == (built.out / row["audio"]).read_bytes()


def test_resume_keeps_rendered_clips_and_renders_only_the_missing(built, tmp_path):
    out = tmp_path / "resume"
    shutil.copytree(built.out, out)
    rows = built.all_rows
    missing = out / rows[0]["audio"]
    original = missing.read_bytes()
    missing.unlink()
    stamps = {r["audio"]: (out / r["audio"]).stat().st_mtime_ns for r in rows[1:]}

    again = build(out, built.cache)

    assert (again.report.rendered, again.report.reused) == (1, CLIPS - 1)
    assert missing.read_bytes() == original
    assert {a: (out / a).stat().st_mtime_ns for a in stamps} == stamps


def test_a_larger_build_keeps_the_clips_it_shares_with_a_smaller_one(built, tmp_path):
    out = tmp_path / "grown"
    shutil.copytree(built.out, out)
    report = build_corpus(
        out, clips=CLIPS + 2, seconds=SECONDS, seed=SEED, workers=2, progress=False,
        cache_dir=built.cache,
    )  # fmt: skip
    assert (report.rendered, report.reused) == (2, CLIPS)
    rows = [r for s in SPLITS for r in read_rows(out)[s]]
    assert {r["audio"] for r in built.all_rows} < {r["audio"] for r in rows}


def test_bad_soundfont_path_names_the_debian_package(tmp_path):
    with pytest.raises(FileNotFoundError, match="fluid-soundfont-gm"):
        build_corpus(tmp_path / "c", clips=2, soundfont=tmp_path / "missing.sf2", progress=False)
    not_sf2 = tmp_path / "fake.sf2"
    not_sf2.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt ")
    with pytest.raises(ValueError, match="not a SoundFont 2 file"):
        build_corpus(tmp_path / "c", clips=2, soundfont=not_sf2, progress=False)


def test_missing_fluidsynth_names_the_debian_package(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # nowhere to find the program
    with pytest.raises(FileNotFoundError, match="apt-get install fluidsynth"):
        build_corpus(tmp_path / "c", clips=2, progress=False)


def test_cli_reports_a_bad_soundfont_in_one_line(tmp_path, capsys):
    from maskgmt.cli import main

    code = main(["corpus", "build", "--out", str(tmp_path / "c"), "--clips", "2",
                 "--soundfont", str(tmp_path / "nope.sf2"), "--no-progress"])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert "nope.sf2" in err and "fluid-soundfont-gm" in err and "Traceback" not in err


def test_importing_the_corpus_package_does_not_import_music21():
    code = "import sys, maskgmt.data.corpus; print('music21' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
