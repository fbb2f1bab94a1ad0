"""MIDI -> mono WAV through the FluidSynth program: exact length, loudness set by dynamics."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FLUIDSYNTH_PACKAGE = "fluidsynth"  # Debian package of the program
SOUNDFONT_PACKAGE = "fluid-soundfont-gm"  # Debian package of FluidR3_GM.sf2
SOUNDFONT_ENV = "MASKGMT_SOUNDFONT"
SOUNDFONT_CANDIDATES: tuple[str, ...] = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/soundfonts/default.sf2",
)

# Loudness: each clip is scaled to an RMS level that depends on its dynamics word (so "loud"
# stays audibly louder than "soft" after normalisation), then lowered if needed so no sample
# peaks above PEAK_CEILING_DBFS. Levels are dB relative to full scale.
DYNAMICS_RMS_DBFS: dict[str, float] = {"soft": -30.0, "medium": -24.0, "loud": -18.0}
PEAK_CEILING_DBFS = -1.0
FADE_OUT_SECONDS = 0.02  # the cut at the clip's end would otherwise click
SILENCE_RMS = 1e-5  # below this the render failed (e.g. a program the SoundFont lacks)
RENDER_VERSION = 1  # bump when the audio this module makes changes, to invalidate old clips


def find_fluidsynth() -> str:
    """Path of the `fluidsynth` program; FileNotFoundError naming the package when absent."""
    path = shutil.which("fluidsynth")
    if path is None:
        raise FileNotFoundError(
            "the `fluidsynth` program is not on PATH; the corpus builder renders MIDI with it. "
            f"Fix: sudo apt-get install {FLUIDSYNTH_PACKAGE} (or your system's FluidSynth 2.x)"
        )
    return path


def find_soundfont(path: str | os.PathLike | None = None) -> Path:
    """A readable General MIDI .sf2: `path`, else $MASKGMT_SOUNDFONT, else the Debian locations.

    Raises FileNotFoundError (missing file; names the Debian package) or ValueError (not a
    SoundFont 2 file).
    """
    if path is None:
        path = os.environ.get(SOUNDFONT_ENV) or next(
            (p for p in SOUNDFONT_CANDIDATES if Path(p).is_file()), None
        )
        if path is None:
            raise FileNotFoundError(
                f"no General MIDI SoundFont found (looked in {', '.join(SOUNDFONT_CANDIDATES)} "
                f"and ${SOUNDFONT_ENV}). Fix: sudo apt-get install {SOUNDFONT_PACKAGE}, "
                "or pass soundfont=PATH / --soundfont PATH to any .sf2 file"
            )
    sf2 = Path(path).expanduser()
    if sf2.is_dir():
        raise ValueError(
            f"soundfont: {sf2} is a folder; pass the path of a General MIDI .sf2 file, e.g. "
            f"{SOUNDFONT_CANDIDATES[0]}"
        )
    if not sf2.is_file():
        raise FileNotFoundError(
            f"soundfont: {sf2} does not exist; expected a General MIDI .sf2 file. "
            f"Fix: sudo apt-get install {SOUNDFONT_PACKAGE} (installs {SOUNDFONT_CANDIDATES[0]}) "
            "or pass the path of another .sf2"
        )
    with open(sf2, "rb") as f:
        head = f.read(12)
    if head[:4] != b"RIFF" or head[8:12] != b"sfbk":
        raise ValueError(
            f"soundfont: {sf2} is not a SoundFont 2 file (no RIFF/sfbk header); "
            f"expected a .sf2 such as the one in the Debian package {SOUNDFONT_PACKAGE}"
        )
    return sf2.resolve()


def loudness_normalize(wav: np.ndarray, *, rms_dbfs: float) -> np.ndarray:
    """Scale wav[S] to `rms_dbfs` RMS, then down to PEAK_CEILING_DBFS peak if it would clip."""
    rms = float(np.sqrt(np.mean(np.square(wav, dtype=np.float64))))
    if rms < SILENCE_RMS:
        raise RuntimeError(f"rendered audio is silent (RMS {rms:.2e})")
    gain = 10 ** (rms_dbfs / 20) / rms
    peak = float(np.max(np.abs(wav))) * gain
    ceiling = 10 ** (PEAK_CEILING_DBFS / 20)
    if peak > ceiling:
        gain *= ceiling / peak
    return (wav * gain).astype(np.float32)


def fluidsynth_version(fluidsynth: str) -> str:
    """The program's version line, e.g. "FluidSynth runtime version 2.3.1"."""
    proc = subprocess.run([fluidsynth, "--version"], capture_output=True, text=True, timeout=30)
    return next(iter(proc.stdout.splitlines()), "")


@dataclass(frozen=True, kw_only=True)
class Renderer:
    """Renders Standard MIDI Files with one SoundFont at one sample rate."""

    soundfont: Path
    sample_rate: int = 24_000
    gain: float = 0.5  # FluidSynth master gain; output is float, so only headroom matters
    fluidsynth: str = "fluidsynth"

    def identity(self) -> dict:
        """What decides the rendered bytes besides the MIDI (used to name clip files)."""
        return {
            "soundfont": self.soundfont.name,
            "soundfont_bytes": self.soundfont.stat().st_size,
            "fluidsynth": fluidsynth_version(self.fluidsynth),
            "sample_rate": self.sample_rate,
            "gain": self.gain,
            "render_version": RENDER_VERSION,
        }

    def synthesize(self, midi: bytes, *, seconds: float) -> np.ndarray:
        """MIDI bytes -> mono float32 wav[S], S = round(seconds * sample_rate), not normalised."""
        with tempfile.TemporaryDirectory(prefix="maskgmt-render-") as tmp:
            mid, raw = Path(tmp) / "clip.mid", Path(tmp) / "clip.raw"
            mid.write_bytes(midi)
            cmd = [
                self.fluidsynth,
                "-n",  # no MIDI input driver
                "-i",  # no interactive shell
                "-q",
                "-g",
                str(self.gain),
                "-r",
                str(self.sample_rate),
                # Raw little-endian float32 stereo: no 16-bit dither or clipping before we scale.
                "-T",
                "raw",
                "-O",
                "float",
                "-E",
                "little",
                # Load only the samples this MIDI uses: halves start-up on a 140 MB SoundFont.
                "-o",
                "synth.dynamic-sample-loading=1",
                "-F",
                str(raw),
                str(self.soundfont),
                str(mid),
            ]
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
            if proc.returncode != 0 or not raw.is_file():
                tail = (proc.stderr or proc.stdout).strip()[-300:]
                raise RuntimeError(f"fluidsynth failed (exit {proc.returncode}): {tail}")
            stereo = np.fromfile(raw, dtype="<f4")
        mono = stereo[: stereo.size // 2 * 2].reshape(-1, 2).mean(axis=1)
        n = round(seconds * self.sample_rate)
        wav = np.zeros(n, dtype=np.float32)
        wav[: min(n, mono.size)] = mono[:n]
        fade = min(round(FADE_OUT_SECONDS * self.sample_rate), n)
        wav[n - fade :] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
        return wav

    def synthesize_notes(
        self, notes: list[tuple[int, float, float]], *, program: int, seconds: float
    ) -> np.ndarray:
        """(MIDI pitch, start s, duration s) notes on GM `program` -> mono float32 wav[S] with
        a peak of 0.8: quick test and benchmark material with no score behind it."""
        from maskgmt.data.corpus.midi import MidiNote, midi_file_bytes

        beats = 2.0  # at 120 bpm a second is two quarter notes
        midi = midi_file_bytes(
            [MidiNote(onset=t * beats, duration=d * beats, pitch=p, velocity=90, channel=0)
             for p, t, d in notes],
            bpm=120.0, programs={0: program}, end=seconds * beats,
        )  # fmt: skip
        wav = self.synthesize(midi, seconds=seconds)
        return (0.8 * wav / max(1e-9, float(np.abs(wav).max()))).astype(np.float32)

    def render_to_file(self, midi: bytes, path: Path, *, seconds: float, rms_dbfs: float) -> None:
        """Render, normalise, write a 16-bit mono WAV atomically (a crash leaves no half file)."""
        import soundfile as sf

        wav = loudness_normalize(self.synthesize(midi, seconds=seconds), rms_dbfs=rms_dbfs)
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.wav")
        sf.write(tmp, wav, self.sample_rate, subtype="PCM_16")
        os.replace(tmp, path)
