"""The Gradio web demo, driven with gradio_client on loopback: the three jobs with the shipped
model, refused inputs, the queue under 10 concurrent requests, and the local-only guard."""

from __future__ import annotations

import http.client
import inspect
import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from maskgmt.app import Limits, start
from maskgmt.cli import main
from maskgmt.pipeline import TextToMusic

pytest.importorskip("gradio", reason="the web demo needs the demo extra: pip install -e .[demo]")
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402

SR = 24_000  # the shipped model's codec
LIMITS = Limits(max_seconds=4.0, max_queue=3, max_upload_mb=1)
FAST = {"steps": "2", "seed": 0}  # two steps per level: a second of audio in well under 1 s
CAPTION = "A slow, soft cello plays a chorale in D minor, 4/4 time, in a low register."


@pytest.fixture(scope="module")
def pipe() -> TextToMusic:
    pipe = TextToMusic.from_pretrained()  # the shipped model
    pipe.generate(["warm up"], seconds=0.2, steps=1)  # loads the text encoder once
    return pipe


@pytest.fixture(scope="module")
def demo(pipe: TextToMusic) -> Iterator[str]:
    server = start(pipe, limits=LIMITS)
    yield server.url
    server.stop()


@pytest.fixture
def client(demo: str) -> Iterator[Client]:
    client = Client(demo, verbose=False, analytics_enabled=False)
    yield client
    client.close()


def text_to_music(client: Client, **form):
    return client.predict(**{"caption": CAPTION, "seconds": 1.0, **FAST, **form},
                          api_name="/text_to_music")  # fmt: skip


def tone(path: Path, seconds: float = 1.0, hz: float = 330.0) -> Path:
    t = np.arange(round(seconds * SR)) / SR
    sf.write(path, 0.3 * np.sin(2 * np.pi * hz * t), SR, subtype="PCM_16")
    return path


# ---------------------------------------------------------------------------- the jobs


def test_text_to_music_gives_audio_spectrogram_timings_and_history(client: Client) -> None:
    audio, image, timings, download, table, files, *_ = text_to_music(client, seconds=1.5)
    wav, sr = sf.read(audio)
    assert sr == SR and wav.shape == (round(1.5 * SR),) and np.abs(wav).max() > 0.01
    assert Path(image).stat().st_size > 1000  # the spectrogram picture
    assert "tokens" in timings and "decode" in timings and "real time" in timings
    assert Path(download).read_bytes() == Path(audio).read_bytes()
    assert CAPTION in table and len(files) == 1


def test_the_history_grows_within_a_page_and_the_same_seed_gives_the_same_bytes(
    client: Client,
) -> None:
    first = text_to_music(client, seed=7)
    second = text_to_music(client, seed=7)
    other = text_to_music(client, seed=8)
    assert Path(first[0]).read_bytes() == Path(second[0]).read_bytes()
    assert Path(first[0]).read_bytes() != Path(other[0]).read_bytes()
    table, files = other[4], other[5]
    assert len(files) == 3 and table.count(CAPTION) == 3


def test_continuation_extends_the_clip(client: Client, tmp_path: Path) -> None:
    clip = handle_file(str(tone(tmp_path / "in.wav", 1.0)))
    audio, *_ = client.predict(caption=CAPTION, clip=clip, seconds=0.5, **FAST,
                               api_name="/continue")  # fmt: skip
    wav, sr = sf.read(audio)
    assert sr == SR and wav.shape == (round(1.5 * SR),)


def test_inpainting_keeps_the_audio_outside_the_range(client: Client, tmp_path: Path) -> None:
    source = tone(tmp_path / "in.wav", 1.0)
    audio, *_ = client.predict(caption=CAPTION, clip=handle_file(str(source)), start=0.4,
                               end=0.6, **FAST, api_name="/inpaint")  # fmt: skip
    made, sr = sf.read(audio, dtype="int16")
    kept, _ = sf.read(source, dtype="int16")
    assert sr == SR and made.shape == kept.shape
    before, after = round(0.39 * SR), round(0.61 * SR)  # past the 10 ms crossfades
    assert np.array_equal(made[:before], kept[:before])
    assert np.array_equal(made[after:], kept[after:])
    assert not np.array_equal(made[before:after], kept[before:after])


# ---------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"caption": "   "}, "caption: type a caption"),
        ({"caption": "x" * 501}, "caption: at most 500 characters"),
        # sliders refuse a value off the slider before the job runs, naming the field
        ({"seconds": 0}, "seconds: expected a number in [0.5, 4], got 0"),
        ({"seconds": 9}, "seconds: expected a number in [0.5, 4], got 9"),
        ({"cond_scale": 0}, "cond_scale: expected a number in [1, 20], got 0"),
        ({"temperature": -1}, "temperature: expected a number in [0, 5], got -1"),
        ({"choice_temperature": 21}, "choice_temperature: expected a number in [0, 20], got 21"),
        ({"seed": -1}, "seed: expected a number in [0, 4.29497e+09]"),
        ({"seed": 1.5}, "seed: expected a whole number"),
        ({"seed": "seven"}, "seed: expected a number"),
        ({"steps": "0"}, "steps: every step count must be in [1, 64]"),
        ({"steps": "8,a"}, "steps: one int for every level, or up to 8 comma-separated"),
        ({"steps": ",".join(["2"] * 9)}, "steps: one int for every level, or up to 8"),
    ],
)
def test_bad_text_to_music_settings_name_the_field(client: Client, form, message: str) -> None:
    with pytest.raises(AppError) as err:
        text_to_music(client, **form)
    assert message in str(err.value)


def test_bad_clips_and_ranges_name_the_field(client: Client, tmp_path: Path) -> None:
    good = handle_file(str(tone(tmp_path / "in.wav", 1.0)))
    long = handle_file(str(tone(tmp_path / "long.wav", 5.0)))
    not_audio = tmp_path / "notes.wav"
    not_audio.write_text("not audio at all")
    cases = [
        ("/continue", {"clip": None, "seconds": 1}, "clip: upload a clip"),
        ("/continue", {"clip": handle_file(str(not_audio)), "seconds": 1}, "clip: could not"),
        ("/continue", {"clip": long, "seconds": 1}, "clip: the clip is 5.0 s; at most 4 s"),
        ("/continue", {"clip": good, "seconds": 3.5}, "seconds: the clip (1.0 s) and its"),
        (
            "/inpaint",
            {"clip": good, "start": 0.6, "end": 0.4},
            "end: expected an end after the start",
        ),
        ("/inpaint", {"clip": good, "start": 0.2, "end": 3.0}, "end: the clip is 1.00 s"),
    ]
    for api_name, form, message in cases:
        with pytest.raises(AppError) as err:
            client.predict(caption=CAPTION, **FAST, **form, api_name=api_name)
        assert message in str(err.value), (api_name, form)


def test_an_upload_over_the_size_cap_is_refused(client: Client, tmp_path: Path) -> None:
    big = tone(tmp_path / "big.wav", 25.0)  # 1.2 MB of 16-bit mono: over the 1 MB cap
    with pytest.raises(Exception, match="(?i)size|large|413") as err:
        client.predict(caption=CAPTION, clip=handle_file(str(big)), seconds=1, **FAST,
                       api_name="/continue")  # fmt: skip
    assert not isinstance(err.value, AppError)  # refused at the upload, before any job ran


# ---------------------------------------------------------------------------- the queue


class GatedPipe:
    """The real pipeline, but each generate waits for `gate`: the queue fills on demand."""

    def __init__(self, pipe: TextToMusic) -> None:
        self.pipe, self.gate, self.entered = pipe, threading.Event(), threading.Semaphore(0)
        self.running = self.most_running = 0
        self.lock = threading.Lock()

    def __getattr__(self, name: str):
        return getattr(self.pipe, name)

    def generate(self, texts, **kwargs):
        with self.lock:
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        self.entered.release()
        try:
            assert self.gate.wait(60), "the test never opened the gate"
            return self.pipe.generate(texts, **kwargs)
        finally:
            with self.lock:
                self.running -= 1


def test_one_runs_a_few_wait_and_the_rest_are_told_busy(pipe: TextToMusic) -> None:
    gated = GatedPipe(pipe)
    server = start(gated, limits=Limits(max_seconds=4.0, max_queue=2))
    try:
        client = Client(server.url, verbose=False, analytics_enabled=False)
        jobs = [client.submit(caption=CAPTION, seconds=0.5, **FAST, api_name="/text_to_music")]
        assert gated.entered.acquire(timeout=30)  # the first one runs, and waits at the gate
        jobs += [client.submit(caption=CAPTION, seconds=0.5, **FAST, api_name="/text_to_music")
                 for _ in range(2)]  # fmt: skip
        time.sleep(1.0)  # both are in the queue now
        busy = client.submit(caption=CAPTION, seconds=0.5, **FAST, api_name="/text_to_music")
        with pytest.raises(Exception, match="Queue is full"):
            busy.result(timeout=30)
        gated.gate.set()
        for job in jobs:
            assert Path(job.result(timeout=60)[0]).stat().st_size > 1000
        assert gated.most_running == 1
    finally:
        gated.gate.set()
        server.stop()


def test_ten_concurrent_requests_all_finish_or_are_told_busy(demo: str) -> None:
    def one(i: int) -> str:
        client = Client(demo, verbose=False, analytics_enabled=False)
        try:
            audio = text_to_music(client, seconds=0.5, seed=i)[0]
        except Exception as e:  # the only failure allowed: the busy message
            assert "Queue is full" in str(e), repr(e)
            return "busy"
        assert sf.info(audio).frames == SR // 2
        return "done"

    t0 = time.perf_counter()
    with ThreadPoolExecutor(10) as pool:
        outcomes = list(pool.map(one, range(10)))
    assert len(outcomes) == 10 and "done" in outcomes
    assert time.perf_counter() - t0 < 60


class StopSpy:
    """The real pipeline; each generate waits at `gate`, then records what `should_stop` says
    (polling it for a while, as a cancel reaches the server asynchronously) and how the real
    generation ended."""

    def __init__(self, pipe: TextToMusic) -> None:
        self.pipe, self.gate, self.entered = pipe, threading.Event(), threading.Event()
        self.stopped: list[bool] = []
        self.ended: list[str] = []

    def __getattr__(self, name: str):
        return getattr(self.pipe, name)

    def generate(self, texts, *, should_stop, **kwargs):
        self.entered.set()
        assert self.gate.wait(60), "the test never opened the gate"
        deadline = time.monotonic() + 10
        while not should_stop() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.stopped.append(should_stop())
        try:
            out = self.pipe.generate(texts, should_stop=should_stop, **kwargs)
        except Exception as e:
            self.ended.append(type(e).__name__)
            raise
        self.ended.append("done")
        return out


def test_a_cancelled_request_stops_its_generation(pipe: TextToMusic) -> None:
    spy = StopSpy(pipe)
    server = start(spy, limits=LIMITS)
    try:
        client = Client(server.url, verbose=False, analytics_enabled=False)
        job = client.submit(caption=CAPTION, seconds=4.0, **FAST, api_name="/text_to_music")
        assert spy.entered.wait(30)
        job.cancel()  # what the page does when it is closed: the event is no longer alive
        spy.gate.set()
        deadline = time.monotonic() + 30
        while not spy.ended and time.monotonic() < deadline:
            time.sleep(0.1)
        assert spy.stopped == [True] and spy.ended == ["GenerationCancelled"]
        # and a request nobody cancels is not stopped
        spy.entered.clear()
        done = client.submit(caption=CAPTION, seconds=0.5, **FAST, api_name="/text_to_music")
        assert Path(done.result(timeout=60)[0]).stat().st_size > 1000
        assert spy.ended[-1] == "done"
        client.close()
    finally:
        spy.gate.set()
        server.stop()


# ---------------------------------------------------------------------------- the guard


def raw(url: str, method: str = "GET", path: str = "/", body: bytes | None = None,
        headers: dict | None = None) -> tuple[int, bytes]:  # fmt: skip
    host, port = url.removeprefix("http://").rstrip("/").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        reply = conn.getresponse()
        return reply.status, reply.read()
    finally:
        conn.close()


def test_the_page_is_served_on_loopback(demo: str) -> None:
    status, body = raw(demo)
    assert status == 200 and b"<html" in body
    status, config = raw(demo, path="/config")
    assert status == 200 and json.loads(config)["title"] == "maskgmt"
    assert raw(demo, headers={"Host": "localhost"})[0] == 200


@pytest.mark.parametrize(
    ("method", "headers", "status"),
    [
        ("GET", {"Host": "evil.example:7860"}, 421),  # DNS rebinding: a foreign name for us
        ("POST", {"Origin": "http://evil.example", "Content-Type": "text/plain"}, 403),
        ("POST", {"Content-Length": str(10**9)}, 413),
        ("POST", {"Transfer-Encoding": "chunked"}, 411),
    ],
)
def test_rebound_cross_site_and_oversized_requests_are_refused(
    demo: str, method: str, headers: dict, status: int
) -> None:
    path = "/gradio_api/queue/join"
    got, _ = raw(demo, method, path, headers=headers, body=b"" if method == "GET" else None)
    assert got == status


def test_stalled_and_silent_connections_are_closed(demo: str, monkeypatch) -> None:
    from maskgmt.app import server as server_module

    monkeypatch.setattr(server_module, "IDLE_TIMEOUT_S", 0.5)
    host, port = demo.removeprefix("http://").rstrip("/").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as silent:
        t0 = time.perf_counter()
        assert silent.recv(1) == b""  # closed by the server, not by the 10 s timeout
        assert time.perf_counter() - t0 < 5
    assert raw(demo)[0] == 200  # and the server still serves


def test_serve_binds_loopback_by_default_and_says_how_to_install_gradio(
    monkeypatch, capsys
) -> None:
    import maskgmt.app
    from maskgmt.cli.serve import serve

    option = inspect.signature(serve).parameters["host"].default  # a typer OptionInfo
    assert option.default == "127.0.0.1"
    monkeypatch.setattr(maskgmt.app, "gradio_available", lambda: False)
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert "pip install -e '.[demo]'" in err and len(err.strip().splitlines()) == 1
