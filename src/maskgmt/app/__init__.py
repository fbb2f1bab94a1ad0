"""The web demo: a Gradio page for text to music, continuation and inpainting.

Gradio is an optional extra (`pip install -e .[demo]`); importing this package does not need
it, so `maskgmt serve` can say how to install it. `serve` runs the page until Ctrl-C;
`start` runs it in a background thread (tests, notebooks) and returns a `DemoServer`.
"""

from __future__ import annotations

import importlib.util
import os

from maskgmt.app.jobs import InputError, Limits, Pipeline
from maskgmt.app.server import LOOPBACK_HOSTS, DemoServer, PortError, bind

GRADIO_HINT = (
    "the web demo needs Gradio, an optional extra: pip install -e '.[demo]' "
    "(or bash scripts/install.sh, which installs it)"
)

__all__ = ["GRADIO_HINT", "DemoServer", "InputError", "Limits", "PortError", "create_app",
           "gradio_available", "serve", "start"]  # fmt: skip


def gradio_available() -> bool:
    """Whether Gradio is installed (the `demo` extra)."""
    return importlib.util.find_spec("gradio") is not None


def _import_gradio():
    if not gradio_available():
        raise ModuleNotFoundError(GRADIO_HINT)
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # a local page calls no one
    import gradio

    return gradio


def create_app(pipe: Pipeline, *, limits: Limits | None = None, loopback: bool = True):
    """The ASGI app: the Gradio page mounted at / behind the local-only guard."""
    gr = _import_gradio()
    from fastapi import FastAPI

    from maskgmt.app import server, ui

    limits = limits or Limits()
    demo = ui.build(pipe, limits, levels=int(pipe.codec.n_q))
    demo.queue(max_size=limits.max_queue, default_concurrency_limit=1, api_open=False)
    parent = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    parent.add_middleware(
        server.LocalGuard,
        loopback=loopback,
        max_body=limits.max_upload_mb * 2**20 + 2**16,  # the file and its form fields
        body_timeout=server.BODY_TIMEOUT_S,
    )
    system = ["ui-sans-serif", "system-ui", "sans-serif"]  # no web fonts: nothing to fetch
    theme = gr.themes.Default(font=system, font_mono=["ui-monospace", "monospace"])
    _warm_up_pictures(pipe)
    parent.state.blocks = demo  # DemoServer.stop closes its event streams
    return gr.mount_gradio_app(
        parent,
        demo,
        path="/",
        footer_links=["api"],
        run_history=False,
        show_error=True,
        max_file_size=limits.max_upload_mb * 2**20,
        ssr_mode=False,
        mcp_server=False,
        theme=theme,
    )


def _warm_up_pictures(pipe: Pipeline) -> None:
    """Draw one spectrogram now: its first import (librosa) takes seconds, not the first
    visitor's."""
    import numpy as np

    from maskgmt.viz import spectrogram_image

    spectrogram_image(np.zeros((1, int(pipe.sample_rate) // 4), np.float32), pipe.sample_rate)


def start(
    pipe: Pipeline,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    limits: Limits | None = None,
    log: bool = False,
) -> DemoServer:
    """Serve the page from a background thread (port 0: any free one); `.stop()` ends it."""
    from maskgmt.app import server

    sock = bind(host, port)
    try:
        app = create_app(pipe, limits=limits, loopback=host in LOOPBACK_HOSTS)
        return server.start_in_thread(app, sock, log=log, blocks=app.state.blocks)
    except BaseException:
        sock.close()
        raise


def serve(
    pipe: Pipeline,
    host: str = "127.0.0.1",
    port: int = 7860,
    *,
    limits: Limits | None = None,
) -> None:
    """Serve the page until Ctrl-C, printing its URL."""
    from maskgmt.app import server

    sock = bind(host, port)
    app = create_app(pipe, limits=limits, loopback=host in LOOPBACK_HOSTS)
    if host not in LOOPBACK_HOSTS:
        print(f"warning: serving on {host}: anyone who can reach it can use this CPU", flush=True)
    print(f"maskgmt demo at {server.url_of(sock)}  (Ctrl-C to stop)", flush=True)
    try:
        server.make_server(app, sock).run(sockets=[sock])
    finally:
        sock.close()
