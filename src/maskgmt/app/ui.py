"""The Gradio page: text to music, continuation and inpainting, with examples and a history.

Layout: a caption (and a negative caption) over three tabs, one per job, each with its own
Generate button; the sampling settings below them; then the result (audio, spectrogram,
timings, download) and the history of the clips made since the page was opened. All three
jobs share one queue of concurrency 1 (`GENERATE`): one generation runs at a time.
"""

from __future__ import annotations

import functools
import html
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable
from pathlib import Path

import gradio as gr

from maskgmt.app import jobs
from maskgmt.app.jobs import Limits, Pipeline, Sampling
from maskgmt.pipeline.checks import GenerationCancelled

GENERATE = "generate"  # the concurrency id the three jobs share
MAX_HISTORY = 50  # clips listed per page; older ones drop off the list
KEEP_FILES_S = 6 * 3600  # made WAV files older than this are deleted
# Captions in the corpus's own styles (see maskgmt.data.corpus.captions): the model knows them.
EXAMPLES = [
    ["A slow, soft cello plays a chorale in D minor, 4/4 time, in a low register, unaccompanied."],
    ["A jig in G major (6/8), played loudly on a fiddle pitched high at a fast 132 BPM."],
    ["flute, high register, moderate tempo, soft, E minor, 3/4 meter, solo, folk song"],
    ["A brisk, fast, loud trumpet plays a reel in D major, 4/4 time, with a cello bass line."],
    ["A hymn-like chorale in F major (4/4), played softly on a church organ pitched low."],
]
INTRO = """# maskgmt
Text to music with a masked generative transformer. Type a caption naming an instrument, tempo,
register, key, meter and style (or pick an example), then **Generate**. **Continue** extends a
clip; **Inpaint** makes a time range of a clip anew and keeps the rest. One generation runs at
a time; at most {queue} more wait, and beyond that the page says the server is busy."""


def build(pipe: Pipeline, limits: Limits, *, levels: int, out_dir: Path | None = None):
    """The page for `pipe` (its codec has `levels` levels) -> gr.Blocks (not launched)."""
    out_dir = Path(out_dir or tempfile.mkdtemp(prefix="maskgmt-demo-"))
    keep = (3600, KEEP_FILES_S)  # gradio's own copies: checked hourly
    with gr.Blocks(title="maskgmt", analytics_enabled=False, delete_cache=keep) as demo:
        gr.Markdown(INTRO.format(queue=limits.max_queue))
        history = gr.State([])  # [{"path", "label"}], this page only
        text = gr.Textbox(
            label="Caption", lines=2, max_length=limits.max_text_chars, elem_id="caption"
        )
        negative = gr.Textbox(
            "",
            label="Negative caption (optional): what to steer away from",
            max_length=limits.max_text_chars,
        )
        gr.Examples(EXAMPLES, inputs=[text], label="Examples")
        text_tab, cont_tab, inpaint_tab = _job_tabs(limits)
        sampling = _sampling_controls(limits, levels)
        result = _result_panel()
        menus = [cont_tab["reuse"], inpaint_tab["reuse"]]
        wire = _Wiring(pipe, limits, levels, out_dir, history, result, menus)
        common = [text, negative, *sampling]
        wire.job(
            text_tab["go"], "text_to_music", wire.text_to_music, [*common, text_tab["seconds"]]
        )
        wire.job(
            cont_tab["go"],
            "continue",
            wire.continue_clip,
            [*common, cont_tab["clip"], cont_tab["seconds"]],
        )
        wire.job(
            inpaint_tab["go"],
            "inpaint",
            wire.inpaint,
            [*common, inpaint_tab["clip"], inpaint_tab["start"], inpaint_tab["end"]],
        )
        for tab in (cont_tab, inpaint_tab):
            tab["reuse"].input(
                _pick, [tab["reuse"], history], [tab["clip"]], queue=False, api_visibility="private"
            )
    return demo


def _slider(field: str, minimum: float, maximum: float, **kwargs) -> gr.Slider:
    """A slider whose out-of-range error names its form field `field`, like the jobs' own
    checks ("seconds: expected a number in [0.5, 30], got 900"); Gradio's names only the value.

    The check is wrapped on the instance: a subclass of a Gradio component would make Gradio
    write a `.pyi` stub beside this module at import time.
    """
    slider = gr.Slider(minimum, maximum, **kwargs)
    check = slider.preprocess

    def preprocess(payload: float) -> float:
        try:
            return check(payload)
        except (gr.Error, TypeError, ValueError):
            raise _error(
                f"{field}: expected a number in [{minimum:g}, {maximum:g}], got {payload!r}"
            ) from None

    slider.preprocess = preprocess
    return slider


def _job_tabs(limits: Limits) -> tuple[dict, dict, dict]:
    """The three tabs, each with its own inputs and Generate button."""
    top = limits.max_seconds
    with gr.Tab("Text to music"):
        text_tab = {
            "seconds": _slider(
                "seconds",
                0.5,
                top,
                value=min(jobs.DEFAULT_SECONDS, top),
                label="Seconds",
                elem_id="seconds",
            ),
            "go": gr.Button("Generate", variant="primary", elem_id="generate"),
        }
    with gr.Tab("Continue"):
        cont_tab = _clip_inputs("continue")
        cont_tab["seconds"] = _slider(
            "seconds", 0.5, top, value=min(3.0, top), label="Continue for (s)"
        )
        cont_tab["go"] = gr.Button("Continue the clip", variant="primary")
    with gr.Tab("Inpaint"):
        inpaint_tab = _clip_inputs("inpaint")
        with gr.Row():
            # numbers without bounds here: the job checks them, naming the field
            inpaint_tab["start"] = gr.Number(1.0, label="From (s)")
            inpaint_tab["end"] = gr.Number(2.0, label="To (s)")
        inpaint_tab["go"] = gr.Button("Make this range anew", variant="primary")
    return text_tab, cont_tab, inpaint_tab


def _clip_inputs(name: str) -> dict:
    """An upload box for the clip and a menu of the clips made on this page."""
    return {
        "clip": gr.Audio(
            label="Clip (upload one, or pick one made here)",
            sources=["upload"],
            type="filepath",
            elem_id=f"{name}-clip",
        ),
        "reuse": gr.Dropdown([], label="Reuse a clip made here", value=None),
    }


def _sampling_controls(limits: Limits, levels: int) -> list:
    """Seed, CFG scale, steps, temperature and choice temperature, in that order."""
    with gr.Accordion("Sampling", open=False), gr.Row():
        # no precision: 1.5 reaches the job and is refused rather than rounded
        seed = gr.Number(0, label="Seed (same seed, same clip)")
        cond_scale = _slider(
            "cond_scale", 1, 20, value=jobs.DEFAULT_COND_SCALE, step=0.5, label="CFG scale"
        )
        steps = gr.Textbox(
            "",
            label="Steps per level",
            placeholder=f"model default; one int, or {levels} like "
            + ",".join(map(str, jobs.default_steps(levels))),
            max_length=8 * levels,
        )
        temperature = _slider(
            "temperature", 0, 5, value=jobs.DEFAULT_TEMPERATURE, step=0.1, label="Temperature"
        )
        choice = _slider(
            "choice_temperature",
            0,
            20,
            value=jobs.CHOICE_TEMPERATURE,
            step=0.5,
            label="Choice temperature (re-masking)",
        )
    return [seed, cond_scale, steps, temperature, choice]


def _result_panel() -> dict:
    """Where a result shows: audio, spectrogram, timings, download; then the history."""
    with gr.Row():
        audio = gr.Audio(label="Result", type="filepath", interactive=False, elem_id="result")
        image = gr.Image(label="Log-mel spectrogram", type="numpy", interactive=False)
    info = gr.Markdown(elem_id="timings")
    download = gr.File(label="Download (WAV)", interactive=False)
    with gr.Accordion("History: the clips made since this page was opened", open=True):
        table = gr.Markdown("No clips yet.")
        files = gr.File(label="All clips", file_count="multiple", interactive=False)
    return {"audio": audio, "image": image, "info": info, "download": download,
            "table": table, "files": files}  # fmt: skip


def _pick(label: str | None, history: list[dict]) -> str | None:
    """A history entry's label -> its file (for the clip box)."""
    return next((h["path"] for h in history if h["label"] == label), None)


class _Wiring:
    """The handlers: check the form, run a job, then fill the result and the history."""

    def __init__(self, pipe, limits, levels, out_dir, history, result, menus) -> None:
        self.pipe, self.limits, self.levels, self.out_dir = pipe, limits, levels, out_dir
        self.history, self.result, self.reuse_menus = history, result, menus

    def job(self, button, api_name: str, fn: Callable, inputs: list) -> None:
        """Wire a Generate button to `fn` through the shared queue of concurrency 1."""
        r = self.result
        outputs = [r["audio"], r["image"], r["info"], r["download"], r["table"], r["files"],
                   self.history, *self.reuse_menus]  # fmt: skip
        button.click(
            self._run(fn),
            [*inputs, self.history],
            outputs,
            api_name=api_name,
            concurrency_limit=1,
            concurrency_id=GENERATE,
        )

    def _run(self, fn: Callable) -> Callable:
        """fn(form values...) -> Clip, as a handler that also takes and returns the history.

        It keeps fn's signature (the API's parameter names); a refused value becomes a
        message on the page, and any other failure is logged and reported in one line.
        """

        @functools.wraps(fn)
        def handler(*args):
            *form, history = args
            try:
                clip = fn(*form)
            except GenerationCancelled:  # the client left: nobody sees the message
                print("maskgmt serve: the client left; its generation stopped", file=sys.stderr)
                raise _error("cancelled: the page left before the clip was made") from None
            except ValueError as e:  # InputError, or the model refused the settings
                raise _error(str(e)) from None
            except Exception as e:
                traceback.print_exc(file=sys.stderr)
                raise _error(f"the generation failed ({type(e).__name__}: {e})") from None
            return self._show(clip, history)

        return handler

    def _sampling(self, negative, seed, cond_scale, steps, temperature, choice) -> Sampling:
        form = {"negative": negative, "seed": seed, "cond_scale": cond_scale, "steps": steps,
                "temperature": temperature, "choice_temperature": choice}  # fmt: skip
        return Sampling.parse(form, self.levels, self.limits)

    def _seconds(self, name: str, value) -> float:
        return jobs.number(name, value, 0.05, self.limits.max_seconds)

    # The jobs: their parameter names are the API's (gradio_client's keyword arguments);
    # `history` is the page's State, which the handler of `_run` fills.

    def text_to_music(self, caption, negative, seed, cond_scale, steps, temperature,
                      choice_temperature, seconds, history=None):  # fmt: skip
        """Text to music: `seconds` of audio for the caption."""
        text = jobs.caption("caption", caption, self.limits)
        settings = self._sampling(negative, seed, cond_scale, steps, temperature,
                                  choice_temperature)  # fmt: skip
        more = self._seconds("seconds", seconds)
        return jobs.text_to_music(self.pipe, text, more, settings, _client_left())

    def continue_clip(self, caption, negative, seed, cond_scale, steps, temperature,
                      choice_temperature, clip, seconds, history=None):  # fmt: skip
        """Continuation: the clip, then `seconds` more for the caption."""
        text = jobs.caption("caption", caption, self.limits)
        settings = self._sampling(negative, seed, cond_scale, steps, temperature,
                                  choice_temperature)  # fmt: skip
        more = self._seconds("seconds", seconds)
        audio = jobs.load_clip("clip", clip, self.limits)
        return jobs.continue_clip(self.pipe, audio, text, more, settings, self.limits,
                                  _client_left())  # fmt: skip

    def inpaint(self, caption, negative, seed, cond_scale, steps, temperature,
                choice_temperature, clip, start, end, history=None):  # fmt: skip
        """Inpainting: seconds [start, end] of the clip made anew, the rest kept."""
        text = jobs.caption("caption", caption, self.limits)
        settings = self._sampling(negative, seed, cond_scale, steps, temperature,
                                  choice_temperature)  # fmt: skip
        start = jobs.number("start", start, 0, self.limits.max_seconds)
        end = jobs.number("end", end, 0, self.limits.max_seconds)
        audio = jobs.load_clip("clip", clip, self.limits)
        return jobs.inpaint_clip(self.pipe, audio, text, start, end, settings)

    def _show(self, clip: jobs.Clip, history: list[dict]) -> tuple:
        """A made clip -> the values of every output (result, history, reuse menus)."""
        _prune(self.out_dir)
        n = (history[-1]["n"] if history else 0) + 1
        path = clip.save(self.out_dir / f"maskgmt-{n:03d}-{clip.mode}-{uuid.uuid4().hex[:8]}.wav")
        label = f"#{n} {clip.mode}, {clip.seconds:.1f} s: {clip.caption[:40]}"
        entry = {"n": n, "path": str(path), "label": label, "mode": clip.mode,
                 "seconds": clip.seconds, "seed": clip.seed, "caption": clip.caption}  # fmt: skip
        history = [*history, entry][-MAX_HISTORY:]
        t = clip.timings
        info = (
            f"**{clip.seconds:.2f} s** at {clip.sample_rate} Hz, seed {clip.seed}: "
            f"tokens {t['tokens_s']:.2f} s + decode {t['decode_s']:.2f} s = "
            f"{t['total_s']:.2f} s ({t['real_time_factor']:.1f}x real time)"
        )
        labels = [h["label"] for h in history]
        menus = [gr.update(choices=labels, value=None) for _ in self.reuse_menus]
        files = [h["path"] for h in history]
        return (str(path), clip.spectrogram(), info, str(path), _table(history), files,
                history, *menus)  # fmt: skip


def _table(history: list[dict]) -> str:
    """The history as a Markdown table, newest first."""
    rows = ["| # | job | seconds | seed | caption |", "|---|---|---|---|---|"]
    for h in reversed(history):
        text = html.escape(h["caption"].replace("|", "/"), quote=False)
        rows.append(f"| {h['n']} | {h['mode']} | {h['seconds']:.1f} | {h['seed']} | {text} |")
    return "\n".join(rows)


def _client_left() -> Callable[[], bool]:
    """A check for the job running in this thread: True once its client has left, so the
    generation stops at the next window instead of running on while others wait.

    Gradio marks the event of a closed page not `alive`, and drops a cancelled one from its
    active jobs (and then starts the next job in the queue). Outside a Gradio event (a direct
    call) the check is always False.
    """
    from gradio.context import LocalContext

    blocks, event_id = LocalContext.blocks.get(None), LocalContext.event_id.get(None)
    queue = getattr(blocks, "_queue", None)
    if queue is None or event_id is None:
        return lambda: False

    def left() -> bool:
        events = (e for job in queue.active_jobs if job for e in job)
        return not any(e._id == event_id and e.alive for e in events)

    return left


def _error(message: str) -> gr.Error:
    """A message for the page (shown as text: no markup from the request gets through)."""
    return gr.Error(html.escape(message, quote=False), print_exception=False)


def _prune(folder: Path) -> None:
    """Delete made clips older than KEEP_FILES_S."""
    cutoff = time.time() - KEEP_FILES_S
    for old in folder.glob("maskgmt-*.wav"):
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
