"""Serving the Gradio page: uvicorn on a socket bound first, behind a local-only guard.

Gradio gives the queue (one generation at a time, a bounded wait list, a busy message) and the
upload cap. This module adds what a page on a laptop also needs: only loopback Host names when
bound to loopback (no DNS rebinding), no cross-site requests, a cap on body size and open
connections, and timeouts for idle connections and stalled bodies.
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
MAX_CONNECTIONS = 200  # open connections and running requests; more get 503
IDLE_TIMEOUT_S = 10.0  # a connection that sends nothing is closed after this
BODY_TIMEOUT_S = 30.0  # a request body that stalls this long gets 408
JSON_BODY_BYTES = 256 * 1024  # any body but an upload


class PortError(ValueError):
    """The port cannot be bound; the message names the fix."""


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (0: any free port), or PortError with the fix."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise PortError(f"--port: expected 0..65535, got {port!r}")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError as e:
        sock.close()
        raise PortError(_port_message(host, port, e)) from None
    sock.set_inheritable(True)
    return sock


def _port_message(host: str, port: int, e: OSError) -> str:
    why = {errno.EADDRINUSE: "is already in use", errno.EACCES: "needs more privileges"}.get(
        e.errno or 0, f"cannot be bound ({e.strerror})"
    )
    if e.errno not in (errno.EADDRINUSE, errno.EACCES):
        return f"--host {host}: {host}:{port} {why}; pass a local address such as 127.0.0.1"
    return (
        f"--port {port}: {host}:{port} {why}; pass another --port (or --port 0 for any free "
        "one), or stop what holds it"
    )


def _hostname(value: str) -> str:
    """'localhost:7860' or 'http://[::1]:80' -> 'localhost' / '::1' (lower case)."""
    netloc = urlsplit(value if "//" in value else f"//{value}").hostname
    return (netloc or "").lower()


class LocalGuard:
    """ASGI middleware: refuse DNS-rebound, cross-site, oversized and stalled requests."""

    def __init__(self, app, *, loopback: bool, max_body: int, body_timeout: float) -> None:
        self.app, self.loopback = app, loopback
        self.max_body, self.body_timeout = max_body, body_timeout

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        refusal = self._refusal(scope, headers)
        if refusal is not None:
            return await _reply(send, *refusal) if scope["type"] == "http" else None
        await self._guarded(scope, receive, send)

    async def _guarded(self, scope, receive, send) -> None:
        """Run the app; a body that stalls past body_timeout ends the request with 408."""
        state = {"started": False, "stalled": False, "body_done": scope["type"] != "http"}

        async def timed_receive():
            if state["body_done"]:  # then receive() waits for a disconnect: no time limit
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.body_timeout)
            except asyncio.TimeoutError:
                state["stalled"] = True
                return {"type": "http.disconnect"}
            state["body_done"] = not message.get("more_body", False)
            return message

        async def watched_send(message) -> None:
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        try:
            await self.app(scope, timed_receive, watched_send)
        except Exception:
            if not state["stalled"]:
                raise
        if state["stalled"] and not state["started"]:
            await _reply(send, 408, f"the request body stalled for {self.body_timeout:g} s")

    def _refusal(self, scope, headers: dict) -> tuple[int, str] | None:
        host = _hostname(headers.get("host", ""))
        if self.loopback and host not in LOOPBACK_HOSTS:
            return 421, f"this demo serves only localhost, not Host {host or '(none)'}"
        origin = headers.get("origin")
        if origin is not None and _hostname(origin) != host:
            return 403, "cross-site requests are refused; open the demo's own page"
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return 411, "send a Content-Length"
        try:
            length = int(headers.get("content-length", "0"))
        except ValueError:
            return 400, "bad Content-Length"
        upload = "/upload" in scope.get("path", "")
        limit = self.max_body if upload else JSON_BODY_BYTES
        if length > limit:
            return 413, f"the request is {length} bytes; at most {limit}"
        return None


async def _reply(send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _protocol():
    """uvicorn's h11 protocol, closing a fresh connection that stays silent (uvicorn closes
    only idle keep-alive ones)."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class Protocol(H11Protocol):
        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self.timeout_keep_alive_task = self.loop.call_later(
                IDLE_TIMEOUT_S, self.timeout_keep_alive_handler
            )

    return Protocol


@dataclass
class DemoServer:
    """A running demo: its URL, and `stop()`."""

    url: str
    server: object
    thread: threading.Thread | None = None
    sockets: list = field(default_factory=list)
    blocks: object = None  # the gr.Blocks served: closing it ends its event streams

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and wait for the server thread."""
        if self.blocks is not None:
            self.blocks.close(verbose=False)
        self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout)
        for sock in self.sockets:
            sock.close()


class _QuietShutdown(logging.Filter):
    """Drop uvicorn's reports of event streams (Gradio heartbeats) cancelled at shutdown:
    they are open by design, and ending them is the point of stopping."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, asyncio.CancelledError):
            return False
        return "timeout graceful shutdown exceeded" not in record.getMessage()


def make_server(asgi_app, sock: socket.socket, *, log: bool = True):
    """A uvicorn.Server for the app with the caps and timeouts of this module."""
    import uvicorn

    errors = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _QuietShutdown) for f in errors.filters):
        errors.addFilter(_QuietShutdown())

    config = uvicorn.Config(
        asgi_app,
        http=_protocol(),
        ws="none",
        lifespan="on",
        limit_concurrency=MAX_CONNECTIONS,
        timeout_keep_alive=5,
        timeout_graceful_shutdown=1,
        log_level="info" if log else "warning",
        access_log=False,
    )
    return uvicorn.Server(config)


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{port}/"


def start_in_thread(asgi_app, sock: socket.socket, *, log: bool = False, blocks=None) -> DemoServer:
    """Serve on `sock` from a background thread; returns once the server accepts requests."""
    server = make_server(asgi_app, sock, log=log)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the demo server did not start")
        time.sleep(0.02)
    return DemoServer(url_of(sock), server, thread, [sock], blocks)
