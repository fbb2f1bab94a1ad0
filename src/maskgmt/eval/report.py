"""Writing an evaluation: metrics.json, report.md (markdown), accuracy.png, estimates.jsonl."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

SOURCE_ORDER = ("real", "codec", "generated", "shuffled")
SOURCE_TITLES = {
    "real": "real (ceiling)",
    "codec": "codec",
    "generated": "generated",
    "shuffled": "shuffled control",
}


def write_report(metrics: dict, estimates: Sequence[dict], out_dir: str | Path) -> list[Path]:
    """Write the four report files into `out_dir` (created); returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "metrics.json", out / "report.md", out / "accuracy.png", out / "estimates.jsonl"]
    paths[0].write_text(json.dumps(_json_safe(metrics), indent=2, ensure_ascii=False) + "\n")
    paths[1].write_text(markdown(metrics))
    plot_accuracy(metrics, paths[2])
    paths[3].write_text(
        "".join(json.dumps(_json_safe(e), ensure_ascii=False) + "\n" for e in estimates)
    )
    return paths


def markdown(metrics: dict) -> str:
    """The report as markdown. The first table (what the demo embeds) is attribute x source
    accuracy with 95 % intervals and adherence; then note activity, by-window figures (when
    measured), the Fréchet distances and notes."""
    sources = [s for s in SOURCE_ORDER if s in metrics["sources"]]
    boot = metrics.get("bootstrap", {})
    lines = [
        "# maskgmt evaluation",
        "",
        f"Split: `{metrics['split']}` ({metrics['n_clips']} clips), seed {metrics['seed']}. "
        f"Brackets: {100 * boot.get('confidence', 0.95):.0f}% percentile-bootstrap intervals "
        f"over clips ({boot.get('resamples', '?')} resamples).",
        "",
    ]
    if metrics["accuracy"]:
        lines += _accuracy_section(metrics, sources)
    for attr, why in metrics.get("skipped", {}).items():
        lines.append(f"- `{attr}` not scored: {why}.")
    lines += _notes_section(metrics, sources)
    if metrics.get("by_window"):
        lines += _window_section(metrics["by_window"])
    lines += _frechet_section(metrics)
    for s in sources:
        lines.append(f"- **{SOURCE_TITLES[s]}**: {metrics['sources'][s]}")
    clf = metrics.get("classifier")
    if clf:
        lines.append(
            f"- Instrument classifier: trained on {clf['n_train_clips']} train clips only "
            f"({len(clf['classes'])} families, train accuracy {_pct(clf['train_accuracy'])}); "
            "its accuracy on real test audio is the ceiling column."
        )
    if metrics.get("notes"):
        lines += ["", "## Notes", ""] + [f"- {n}" for n in metrics["notes"]]
    return "\n".join(lines) + "\n"


def _accuracy_section(metrics: dict, sources: list[str]) -> list[str]:
    """Attribute x source accuracy with intervals, then adherence and the codec's gap."""
    adherence = metrics.get("adherence", {})
    extra = [s for s in ("generated", "shuffled") if s in sources]
    gap = "codec" in sources
    header = ["attribute", "n", "chance", *(SOURCE_TITLES[s] for s in sources)]
    header += [f"adherence ({s})" for s in extra] + (["codec gap (real − codec)"] if gap else [])
    lines = ["## Attribute accuracy and adherence", "", _row(header), _row(["---"] * len(header))]
    for attr, e in metrics["accuracy"].items():
        a = adherence.get(attr, {})
        cells = [attr, str(e["n"]), *(_pct_ci(e, s) for s in ("chance", *sources))]
        cells += [_num_ci(a, s) for s in extra]
        if gap:
            cells.append(_points_ci(a, "codec_gap"))
        lines.append(_row(cells))
    ceiling = metrics.get("adherence_ceiling", "codec")
    lines += [
        "",
        "Chance: the accuracy of always guessing the most common reference value. Adherence: "
        f"(accuracy − chance) / ({ceiling} − chance), 1 = as good as {ceiling} audio, 0 = "
        "chance; the shuffled control's should be about 0. Codec gap: real − codec accuracy in "
        "points (what the tokens lose). [?]: no interval, the ceiling is not above chance in "
        "too many resamples (few clips).",
        "",
    ]
    lines += [f"- `{attr}`: {e['description']}" for attr, e in metrics["accuracy"].items()]
    return [*lines, ""]


def _notes_section(metrics: dict, sources: list[str]) -> list[str]:
    """Notes per second of every source with its ratio to real audio."""
    na = metrics.get("note_activity")
    if not na:
        return []
    rate, ratio, tempo = na["notes_per_s"], na["ratio_to_real"], na.get("vs_caption_tempo")
    head = ["source", "notes/s", "÷ real"] + (["rank corr. with the caption's tempo"] * bool(tempo))
    lines = ["", "## Note activity", "", _row(head), _row(["---"] * len(head))]
    for s in sources:
        cells = [SOURCE_TITLES[s], _num_ci(rate, s), _num_ci(ratio, s) if s in ratio else "1"]
        lines.append(_row(cells + ([_num_ci(tempo, s)] if tempo else [])))
    lines += ["", f"Method: {na['method']}. A drone (one held pitch) is one note per clip; "
              "compare sources rather than absolute rates (a loud bass under a quiet melody "
              "moves them)."]  # fmt: skip
    if tempo:
        lines.append(
            "Rank correlation: Spearman's, of each clip's notes/s with its caption's tempo; "
            "real audio plays slow captions slower, and a model should too."
        )
    lines.append("")
    return lines


def _window_section(bw: dict) -> list[str]:
    """The generated clips' first window vs their later part."""
    (a, b), (c, d) = bw["spans_s"]["first"], bw["spans_s"]["later"]
    rate, ratio = bw["notes_per_s"], bw["ratio_to_real"]
    lines = [
        "",
        "## By window",
        "",
        f"Generated clips scored as their first window [{a:g}, {b:g}) s and the later part "
        f"[{c:g}, {d:g}) s (window {bw['window_seconds']:g} s, {bw['n']} clips).",
        "",
        _row(["measure", "first window", "later", "later − first"]),
        _row(["---"] * 4),
        _row(["notes/s", _num_ci(rate, "first"), _num_ci(rate, "later"),
              _num_ci(rate, "later_minus_first")]),
        _row(["notes/s ÷ real", _num_ci(ratio, "first"), _num_ci(ratio, "later"), ""]),
    ]  # fmt: skip
    for attr, adh in bw["adherence"].items():
        lines.append(_row([f"adherence: {attr}", _num_ci(adh, "first"), _num_ci(adh, "later"),
                           _num_ci(adh, "later_minus_first")]))  # fmt: skip
    return [*lines, ""]


def _frechet_section(metrics: dict) -> list[str]:
    fr = metrics["frechet"]
    lines = ["", f"## {fr['name']} to real audio (lower is closer)", ""]
    if fr["vs_real"]:
        names = [s for s in SOURCE_ORDER if s in fr["vs_real"]]
        lines += [_row([SOURCE_TITLES[s] for s in names]), _row(["---"] * len(names))]
        lines.append(_row([f"{fr['vs_real'][s]:.2f}" for s in names]))
        lines.append("")
        if fr.get("floor"):
            lines.append("The codec's distance is the floor a model over its tokens can reach.")
    else:
        lines.append(fr.get("note", "not computed"))
    return [*lines, "", f"Embedding: {fr['embedding']}. {fr['regularisation']}.", ""]


def plot_accuracy(metrics: dict, path: str | Path) -> Path:
    """Grouped bars: accuracy per attribute (x) per source (colour), chance as a tick."""
    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt

    acc = metrics["accuracy"]
    sources = [s for s in SOURCE_ORDER if s in metrics["sources"]]
    fig, ax = plt.subplots(figsize=(max(6.0, 1.6 * len(acc) + 2), 4.0))
    if not acc:
        ax.text(0.5, 0.5, "no attributes in the manifest:\nonly the Fréchet distance was computed",
                ha="center", va="center", transform=ax.transAxes)  # fmt: skip
        ax.set_axis_off()
    else:
        width = 0.8 / len(sources)
        for j, s in enumerate(sources):
            xs = [i + (j - (len(sources) - 1) / 2) * width for i in range(len(acc))]
            ys = [acc[a][s] for a in acc]
            ax.bar(xs, ys, width, label=SOURCE_TITLES[s], yerr=_error_bars(acc, s, ys),
                   capsize=2, error_kw={"elinewidth": 0.8})  # fmt: skip
        for i, a in enumerate(acc):
            ax.hlines(acc[a]["chance"], i - 0.45, i + 0.45, colors="k", linestyles="dotted")
        ax.set_xticks(range(len(acc)), list(acc), rotation=20)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("accuracy (dotted: chance)")
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=len(sources))
    ax.set_title(f"Attribute accuracy, {metrics['n_clips']} clips (bars: 95% intervals)")
    fig.tight_layout()  # keeps the legend below the axes inside the figure
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)


def _error_bars(acc: dict, source: str, ys: list[float]) -> np.ndarray:
    """[2, A] distances below and above each bar to its interval (0 where there is none)."""
    out = np.zeros((2, len(ys)))
    for j, (attr, y) in enumerate(zip(acc, ys, strict=True)):
        lo, hi = _bounds(acc[attr], source)
        if lo is not None and not _missing(y):
            out[:, j] = [max(0.0, y - lo), max(0.0, hi - y)]
    return out


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _pct(x: float) -> str:
    return "n/a" if _missing(x) else f"{100 * x:.0f}%"


def _bounds(fig: dict, name: str) -> tuple[float | None, float | None]:
    lo, hi = fig.get("ci", {}).get(name, (None, None))
    return (None, None) if _missing(lo) or _missing(hi) else (lo, hi)


def _pct_ci(fig: dict, name: str) -> str:
    """An accuracy and its interval: '64% [52–75]'."""
    x = fig.get(name)
    if _missing(x):
        return "n/a"
    lo, hi = _bounds(fig, name)
    return f"{_pct(x)} [?]" if lo is None else f"{_pct(x)} [{100 * lo:.0f}–{100 * hi:.0f}]"


def _num_ci(fig: dict, name: str, digits: int = 2) -> str:
    """A signed figure and its interval: '0.85 [0.61, 1.09]'."""
    x = fig.get(name)
    if _missing(x):
        return "n/a"
    lo, hi = _bounds(fig, name)
    if lo is None:
        return f"{x:.{digits}f} [?]"
    return f"{x:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def _points_ci(fig: dict, name: str) -> str:
    """A difference of accuracies in percentage points: '+5 [-2, +12] pts'."""
    x = fig.get(name)
    if _missing(x):
        return "n/a"
    lo, hi = _bounds(fig, name)
    ci = "[?]" if lo is None else f"[{100 * lo:+.0f}, {100 * hi:+.0f}]"
    return f"{100 * x:+.0f} {ci} pts"


def _json_safe(x):
    """NaN -> None, numpy scalars -> Python (json.dumps would write invalid `NaN`)."""
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_json_safe(v) for v in x]
    if hasattr(x, "item"):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x
