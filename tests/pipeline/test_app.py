"""The web demo: page, /generate (stand-in and real pipeline), 400s naming the field, shutdown."""

from __future__ import annotations

import base64
import io
import json
import math
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf
import torch

from maskgmt.app import MAX_BODY_BYTES, DemoServer, make_server
from maskgmt.pipeline import TextToMusic

from .conftest import SR

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def caption_hz(text: str) -> float:
    """A different, stable pitch per caption, on an exact FFT bin of a 1 s clip."""
    return 200.0 + 10.0 * (sum(text.encode()) % 40)


class SinePipe:
    """Stand-in for TextToMusic: a sine per caption, and it records what it was asked."""

    sample_rate = SR

    def __init__(self) -> None:
        self.calls: list[dict] = []
        self.last_timings = SimpleNamespace(tokens=0.25, decode=0.5, real_time_factor=4.0)

    def generate(self, texts: list[str], *, seconds: float, seed: int, **sampling) -> torch.Tensor:
        self.calls.append({"texts": texts, "seconds": seconds, "seed": seed, **sampling})
        if sampling.get("steps") == (1, 1, 1):
            raise ValueError("steps: expected one count per codec level (2), got 3")
        if texts[0] == "crash":
            raise RuntimeError("the stand-in broke on purpose")
        t = torch.arange(round(seconds * SR)) / SR
        rows = [0.5 * torch.sin(2 * math.pi * caption_hz(text) * t) for text in texts]
        return torch.stack(rows).unsqueeze(1)  # [B, C=1, S]


def start(pipe) -> tuple[DemoServer, threading.Thread]:
    server = make_server(pipe, "127.0.0.1", 0, max_seconds=10.0, log=False)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    return server, thread


def stop(server: DemoServer, thread: threading.Thread) -> None:
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def request(url: str, body: bytes | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def post(url: str, payload) -> tuple[int, dict]:
    status, body = request(url + "generate", json.dumps(payload).encode())
    return status, json.loads(body)


@pytest.fixture(scope="module")
def stub() -> Iterator[tuple[str, SinePipe]]:
    pipe = SinePipe()
    server, thread = start(pipe)
    yield server.url, pipe
    stop(server, thread)


def decode_reply(reply: dict) -> tuple[np.ndarray, int, bytes]:
    wav, sr = sf.read(io.BytesIO(base64.b64decode(reply["wav"])), dtype="float32")
    return wav, sr, base64.b64decode(reply["png"])


def test_page_has_the_form(stub) -> None:
    url, _ = stub
    status, body = request(url)
    page = body.decode()
    assert status == 200 and "<form" in page and "/generate" in page and "<audio" in page
    for field in ("text", "seconds", "seed", "cond_scale", "steps"):
        assert f'id="{field}"' in page


def test_health(stub) -> None:
    url, _ = stub
    status, body = request(url + "health")
    health = json.loads(body)
    assert status == 200 and health["status"] == "ok" and health["sample_rate"] == SR
    assert request(url + "nothing-here")[0] == 404


def test_generate_returns_the_pipelines_audio_and_a_spectrogram(stub) -> None:
    url, pipe = stub
    text = "a slow cello melody"
    status, reply = post(
        url, {"text": text, "seconds": 1.0, "seed": 7, "cond_scale": "2.5", "steps": "4,2"}
    )
    assert status == 200, reply
    wav, sr, png = decode_reply(reply)
    assert sr == SR and wav.shape == (SR,) and reply["seconds"] == pytest.approx(1.0)
    # the WAV holds the pipeline's sine: its strongest bin is the caption's pitch (1 Hz bins)
    assert int(np.abs(np.fft.rfft(wav)).argmax()) == caption_hz(text)
    assert png.startswith(PNG_SIGNATURE) and len(png) > 1000
    assert pipe.calls[-1] == {
        "texts": [text],
        "seconds": 1.0,
        "seed": 7,
        "cond_scale": 2.5,
        "steps": (4, 2),
    }
    t = reply["timings"]
    assert (t["tokens"], t["decode"], t["total"], t["real_time_factor"]) == (0.25, 0.5, 0.75, 4.0)


def test_fractional_seconds_give_that_many_samples(stub) -> None:
    url, pipe = stub
    status, reply = post(url, {"text": "drums", "seconds": 0.3})
    wav, _, _ = decode_reply(reply)
    assert status == 200 and wav.shape == (round(0.3 * SR),)
    assert "steps" not in pipe.calls[-1]  # omitted: the model's own defaults


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"seconds": 1}, "text"),
        ({"text": "   ", "seconds": 1}, "text"),
        ({"text": 5, "seconds": 1}, "text"),
        ({"text": "x", "seconds": 0}, "seconds"),
        ({"text": "x", "seconds": -2}, "seconds"),
        ({"text": "x", "seconds": 11}, "seconds"),  # above this server's cap of 10
        ({"text": "x", "seconds": "abc"}, "seconds"),
        ({"text": "x", "seconds": [1]}, "seconds"),
        ({"text": "x", "seed": "seven"}, "seed"),
        ({"text": "x", "seed": 1.5}, "seed"),
        ({"text": "x", "cond_scale": True}, "cond_scale"),
        ({"text": "x", "steps": "0"}, "steps"),
        ({"text": "x", "steps": "8,a"}, "steps"),
        (["not", "an", "object"], "body"),
    ],
)
def test_bad_requests_are_400_naming_the_field(stub, payload, field: str) -> None:
    url, pipe = stub
    calls = len(pipe.calls)
    status, reply = post(url, payload)
    assert status == 400 and reply["field"] == field and reply["error"].startswith(field)
    assert len(pipe.calls) == calls  # refused before reaching the model


def test_bad_bodies_are_400_and_the_server_keeps_serving(stub) -> None:
    url, _ = stub
    status, body = request(url + "generate", b"{not json")
    assert status == 400 and json.loads(body)["field"] == "body"
    status, body = request(url + "generate", b"x" * (MAX_BODY_BYTES + 1))
    assert status == 400 and "bytes" in json.loads(body)["error"]
    status, reply = post(url, {"text": "x", "seconds": 0.1, "steps": [1, 1, 1]})
    assert status == 400 and reply["field"] == "steps"  # refused by the model, not the server
    assert reply["error"] == "steps: expected one count per codec level (2), got 3"  # said once
    status, reply = post(url, {"text": "crash", "seconds": 0.1})
    assert status == 500 and "broke on purpose" in reply["error"]
    assert request(url + "health")[0] == 200


def test_server_shuts_down_cleanly() -> None:
    server, thread = start(SinePipe())
    url = server.url
    assert request(url + "health")[0] == 200
    stop(server, thread)
    assert not thread.is_alive()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url + "health", timeout=5)


def test_real_pipeline_end_to_end(model_dir: Path) -> None:
    server, thread = start(TextToMusic.from_pretrained(model_dir))
    try:
        status, reply = post(
            server.url, {"text": "a calm piano piece", "seconds": 0.6, "seed": 1, "steps": 2}
        )
    finally:
        stop(server, thread)
    assert status == 200, reply
    wav, sr, png = decode_reply(reply)
    assert sr == SR and wav.shape == (round(0.6 * SR),) and np.abs(wav).max() > 0
    assert png.startswith(PNG_SIGNATURE)
    assert reply["timings"]["tokens"] > 0 and reply["timings"]["decode"] > 0
