"""The local web demo: a one-page form that generates music with a loaded model (stdlib HTTP)."""

from __future__ import annotations

import base64
import io
import json
import math
import sys
import threading
import traceback
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

import numpy as np

MAX_BODY_BYTES = 16_384  # a caption and four numbers fit many times over
MAX_TEXT_CHARS = 1_000
MAX_STEPS = 256  # refinement steps per level; more only burns CPU
DEFAULT_SECONDS = 5.0
DEFAULT_COND_SCALE = 3.0
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
FIELDS = ("text", "seconds", "seed", "cond_scale", "steps")  # of a /generate JSON body


class Pipeline(Protocol):
    """What the server needs of a model: `maskgmt.pipeline.TextToMusic` has it."""

    sample_rate: int
    last_timings: Any  # .tokens, .decode (s), .real_time_factor

    def generate(self, texts: list[str], *, seconds: float, seed: int, **sampling) -> Any:
        """Captions (B strings) -> wav[B, C, S] at `sample_rate`."""


class RequestError(ValueError):
    """A bad /generate request; `field` names the JSON field at fault."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# ---------------------------------------------------------------------------- requests


@dataclass(frozen=True)
class GenerateRequest:
    """One validated /generate request."""

    text: str  # the caption
    seconds: float  # length of the clip, (0, max_seconds]
    seed: int = 0  # the same seed gives the same audio
    cond_scale: float = DEFAULT_COND_SCALE  # classifier-free guidance (1 = none)
    steps: int | tuple[int, ...] | None = None  # None: the model's defaults

    @classmethod
    def from_json(cls, payload: Any, *, max_seconds: float) -> GenerateRequest:
        """Parsed JSON body -> request; raises RequestError naming the bad field."""
        if not isinstance(payload, dict):
            raise RequestError("body", f"expected a JSON object, got {type(payload).__name__}")
        text = payload.get("text")
        if not isinstance(text, str) or not text.strip():
            raise RequestError("text", f"expected a non-empty caption string, got {text!r}")
        if len(text) > MAX_TEXT_CHARS:
            raise RequestError("text", f"at most {MAX_TEXT_CHARS} characters, got {len(text)}")
        seconds = _number(payload, "seconds", DEFAULT_SECONDS)
        if not 0 < seconds <= max_seconds:
            raise RequestError("seconds", f"expected 0 < seconds <= {max_seconds:g}, got {seconds}")
        seed = _number(payload, "seed", 0)
        if seed != int(seed) or not 0 <= seed < 2**63:
            raise RequestError("seed", f"expected a whole number >= 0, got {seed}")
        cond_scale = _number(payload, "cond_scale", DEFAULT_COND_SCALE)
        if not 0 <= cond_scale <= 100:
            raise RequestError("cond_scale", f"expected 0 <= cond_scale <= 100, got {cond_scale}")
        return cls(
            text=text.strip(),
            seconds=float(seconds),
            seed=int(seed),
            cond_scale=float(cond_scale),
            steps=_steps(payload.get("steps")),
        )


def _number(payload: dict, field: str, default: float) -> float:
    value = payload.get(field)
    if value is None or value == "":
        return default
    # JSON true/false are ints to Python; a form may send numbers as strings
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise RequestError(field, f"expected a number, got {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise RequestError(field, f"expected a number, got {value!r}") from None
    if not math.isfinite(number):
        raise RequestError(field, f"expected a finite number, got {value!r}")
    return number


def _steps(value: Any) -> int | tuple[int, ...] | None:
    """None/'' -> None; 12 or '12' -> 12; [16, 8] or '16,8' -> (16, 8)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        parts: list[Any] = [p.strip() for p in value.split(",")]
    elif isinstance(value, list):
        parts = value
    else:
        parts = [value]
    try:
        if any(isinstance(p, bool) or isinstance(p, float) and not p.is_integer() for p in parts):
            raise ValueError
        steps = tuple(int(p) for p in parts)
    except (TypeError, ValueError):
        raise RequestError(
            "steps", f"expected an int or comma-separated ints like 16,8,4,4, got {value!r}"
        ) from None
    if not steps or not all(1 <= s <= MAX_STEPS for s in steps):
        raise RequestError("steps", f"every step count must be in [1, {MAX_STEPS}], got {value!r}")
    return steps[0] if len(steps) == 1 else steps


# ---------------------------------------------------------------------------- generation


def wav_bytes(wav: np.ndarray, sample_rate: int) -> bytes:
    """wav[C, S] float in [-1, 1] -> 16-bit PCM WAV file bytes."""
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, np.clip(wav, -1.0, 1.0).T, sample_rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def png_bytes(wav: np.ndarray, sample_rate: int) -> bytes:
    """wav[C, S] -> PNG bytes of its log-mel spectrogram (time left to right, low bins below)."""
    from matplotlib.image import imsave

    from maskgmt.viz import spectrogram_image

    buf = io.BytesIO()
    imsave(buf, spectrogram_image(wav, sample_rate), format="png")
    return buf.getvalue()


def render(pipe: Pipeline, request: GenerateRequest) -> dict:
    """Generate one clip -> the /generate JSON reply: base64 WAV and PNG, seconds, timings."""
    sampling: dict[str, Any] = {"cond_scale": request.cond_scale}
    if request.steps is not None:
        sampling["steps"] = request.steps
    out = pipe.generate([request.text], seconds=request.seconds, seed=request.seed, **sampling)
    first = out[0]
    if hasattr(first, "detach"):  # torch tensor
        first = first.detach().float().cpu().numpy()
    wav = np.asarray(first, dtype=np.float32)  # [C, S]
    if wav.ndim != 2 or wav.shape[-1] == 0:
        raise RuntimeError(f"the pipeline returned audio of shape {wav.shape}, expected [C, S]")
    t = pipe.last_timings
    return {
        "wav": base64.b64encode(wav_bytes(wav, pipe.sample_rate)).decode("ascii"),
        "png": base64.b64encode(png_bytes(wav, pipe.sample_rate)).decode("ascii"),
        "seconds": wav.shape[-1] / pipe.sample_rate,
        "sample_rate": int(pipe.sample_rate),
        "timings": {
            "tokens": float(t.tokens),
            "decode": float(t.decode),
            "total": float(t.tokens) + float(t.decode),
            "real_time_factor": float(t.real_time_factor),
        },
    }


# ---------------------------------------------------------------------------- the server


class DemoServer(ThreadingHTTPServer):
    """Holds the pipeline; one generation at a time (one model, and CPU threads are shared)."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], *, pipe: Pipeline, max_seconds: float, log: bool):
        self.pipe = pipe
        self.max_seconds = max_seconds
        self.log = log
        self.generate_lock = threading.Lock()
        super().__init__(address, _Handler)

    def handle_error(self, request, client_address) -> None:
        # a client that leaves mid-reply (closed tab, curl ^C) is normal: no traceback for it
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}/"


class _Handler(BaseHTTPRequestHandler):
    server: DemoServer
    server_version = "maskgmt-demo"

    def log_message(self, format: str, *args) -> None:  # noqa: A002  (the stdlib's name)
        if self.server.log:
            super().log_message(format, *args)

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, payload: dict) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json")

    def _error(self, status: int, field: str, message: str) -> None:
        self._json(status, {"error": f"{field}: {message}", "field": field})

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path in ("/", "/index.html"):
            self._send(HTTPStatus.OK, PAGE.encode(), "text/html; charset=utf-8")
        elif path == "/health":
            self._json(
                HTTPStatus.OK,
                {
                    "status": "ok",
                    "sample_rate": int(self.server.pipe.sample_rate),
                    "max_seconds": self.server.max_seconds,
                    "busy": self.server.generate_lock.locked(),
                },
            )
        else:
            self._error(HTTPStatus.NOT_FOUND, "path", f"no page at {path}; try / or /health")

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0]
        if path != "/generate":
            self._error(HTTPStatus.NOT_FOUND, "path", f"POST goes to /generate, not {path}")
            return
        try:
            request = GenerateRequest.from_json(
                self._read_json(), max_seconds=self.server.max_seconds
            )
            with self.server.generate_lock:
                reply = render(self.server.pipe, request)
        except RequestError as e:
            self._error(HTTPStatus.BAD_REQUEST, e.field, e.message)
        except ValueError as e:  # the model refused the settings (e.g. steps per level)
            named, _, rest = str(e).partition(":")
            if named in FIELDS:  # the message names its field already: say it once
                self._error(HTTPStatus.BAD_REQUEST, named, rest.strip())
            else:
                self._error(HTTPStatus.BAD_REQUEST, "request", str(e))
        except Exception as e:  # keep serving: one failed generation must not end the demo
            traceback.print_exc(file=sys.stderr)
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, "server", f"{type(e).__name__}: {e}")
        else:
            self._json(HTTPStatus.OK, reply)

    def _read_json(self) -> Any:
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            raise RequestError("body", "send a JSON body with a Content-Length header") from None
        if not 0 <= length <= MAX_BODY_BYTES:
            # read a modest excess away so the client sees the 400 rather than a reset
            # connection; past that, the rest would be parsed as the next request: hang up
            if 0 < length <= 64 * MAX_BODY_BYTES:
                self.rfile.read(length)
            else:
                self.close_connection = True
            raise RequestError("body", f"at most {MAX_BODY_BYTES} bytes, got {length}")
        try:
            return json.loads(self.rfile.read(length) or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise RequestError("body", f"not valid JSON ({e})") from None


def make_server(
    pipe: Pipeline,
    host: str = "127.0.0.1",
    port: int = 7860,
    *,
    max_seconds: float = 60.0,
    log: bool = True,
) -> DemoServer:
    """Bind (port 0: any free port) without serving yet; call `serve_forever()` on the result."""
    if not max_seconds > 0:
        raise ValueError(f"max_seconds: expected > 0, got {max_seconds}")
    if not 0 <= port <= 65535:
        raise ValueError(f"port: expected 0..65535, got {port}")
    if ":" in host:  # IPv6 literal such as ::1
        import socket

        class _V6(DemoServer):
            address_family = socket.AF_INET6

        return _V6((host, port), pipe=pipe, max_seconds=max_seconds, log=log)
    return DemoServer((host, port), pipe=pipe, max_seconds=max_seconds, log=log)


def serve(
    pipe: Pipeline, host: str = "127.0.0.1", port: int = 7860, *, max_seconds: float = 60.0
) -> None:
    """Serve the demo until Ctrl-C, printing its URL."""
    server = make_server(pipe, host, port, max_seconds=max_seconds)
    if host not in LOOPBACK_HOSTS:
        print(f"warning: serving on {host}: anyone who can reach it can use this CPU", flush=True)
    print(f"maskgmt demo at {server.url}  (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


# ---------------------------------------------------------------------------- the page

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>maskgmt demo</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; max-width: 46rem;
         margin: 2rem auto; padding: 0 1rem; }
  textarea { width: 100%; box-sizing: border-box; font: inherit; }
  .row { display: flex; gap: 1rem; flex-wrap: wrap; margin: .6rem 0; }
  label { display: flex; flex-direction: column; font-size: 13px; }
  input { width: 7rem; font: inherit; }
  #error { color: #b00020; white-space: pre-wrap; }
  img { width: 100%; image-rendering: pixelated; margin-top: .6rem; }
  audio { width: 100%; margin-top: .6rem; }
</style>
</head>
<body>
<h1>maskgmt</h1>
<form id="form">
  <label>Caption
    <textarea id="text" name="text" rows="3" required
      >a calm piano melody with soft strings</textarea>
  </label>
  <div class="row">
    <label>Seconds
      <input id="seconds" name="seconds" type="number" value="5" min="0.1" step="0.1"></label>
    <label>Seed
      <input id="seed" name="seed" type="number" value="0" min="0" step="1"></label>
    <label>Cond scale
      <input id="cond_scale" name="cond_scale" type="number" value="3" min="0" step="0.5"></label>
    <label>Steps
      <input id="steps" name="steps" type="text" placeholder="default, or 16,8,4,4"></label>
  </div>
  <button id="go" type="submit">Generate</button> <span id="status"></span>
</form>
<p id="error"></p>
<audio id="audio" controls hidden></audio>
<img id="spec" alt="log-mel spectrogram of the generated clip" hidden>
<script>
const $ = (id) => document.getElementById(id);
$("form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("go").disabled = true; $("error").textContent = ""; $("status").textContent = "generating...";
  const body = {};
  for (const name of ["text", "seconds", "seed", "cond_scale", "steps"]) body[name] = $(name).value;
  try {
    const reply = await fetch("/generate", {
      method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body),
    });
    const data = await reply.json();
    if (!reply.ok) throw new Error(data.error || reply.statusText);
    $("audio").src = "data:audio/wav;base64," + data.wav; $("audio").hidden = false;
    $("spec").src = "data:image/png;base64," + data.png; $("spec").hidden = false;
    const t = data.timings;
    $("status").textContent = `${data.seconds.toFixed(2)} s of audio: ` +
      `tokens ${t.tokens.toFixed(2)} s, decode ${t.decode.toFixed(2)} s, ` +
      `${t.real_time_factor.toFixed(1)}x real time`;
  } catch (err) {
    $("status").textContent = ""; $("error").textContent = String(err.message || err);
  } finally {
    $("go").disabled = false;
  }
});
</script>
</body>
</html>
"""
