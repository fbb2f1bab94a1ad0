"""Writing an evaluation: metrics.json, report.md (markdown), accuracy.png, estimates.jsonl."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

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
    """The report as markdown: accuracy table (attribute x source), Fréchet table, notes."""
    sources = [s for s in SOURCE_ORDER if s in metrics["sources"]]
    lines = [
        "# maskgmt evaluation",
        "",
        f"Split: `{metrics['split']}` ({metrics['n_clips']} clips), seed {metrics['seed']}.",
        "",
    ]
    if metrics["accuracy"]:
        header = ["attribute", "n", "chance", *(SOURCE_TITLES[s] for s in sources)]
        lines += ["## Attribute accuracy", "", _row(header), _row(["---"] * len(header))]
        for e in metrics["accuracy"].values():
            cells = [
                e["description"],
                str(e["n"]),
                _pct(e["chance"]),
                *(_pct(e[s]) for s in sources),
            ]
            lines.append(_row(cells))
        lines.append("")
        lines.append("Chance: the accuracy of always guessing the most common reference value.")
        lines.append("")
    for attr, why in metrics.get("skipped", {}).items():
        lines.append(f"- `{attr}` not scored: {why}.")
    fr = metrics["frechet"]
    lines += ["", f"## {fr['name']} to real audio (lower is closer)", ""]
    if fr["vs_real"]:
        names = [s for s in SOURCE_ORDER if s in fr["vs_real"]]
        lines += [_row([SOURCE_TITLES[s] for s in names]), _row(["---"] * len(names))]
        lines.append(_row([f"{fr['vs_real'][s]:.2f}" for s in names]))
        lines.append("")
        if fr.get("floor"):
            lines.append("The codec's distance is the floor a model over its tokens can reach.")
    else:
        lines.append(fr.get("note", "not computed"))
    lines += ["", f"Embedding: {fr['embedding']}. {fr['regularisation']}.", ""]
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
            ax.bar(xs, [acc[a][s] for a in acc], width, label=SOURCE_TITLES[s])
        for i, a in enumerate(acc):
            ax.hlines(acc[a]["chance"], i - 0.45, i + 0.45, colors="k", linestyles="dotted")
        ax.set_xticks(range(len(acc)), list(acc), rotation=20)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("accuracy (dotted: chance)")
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=len(sources))
    ax.set_title(f"Attribute accuracy, {metrics['n_clips']} clips")
    fig.tight_layout()  # keeps the legend below the axes inside the figure
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _pct(x: float) -> str:
    return "n/a" if x is None or math.isnan(x) else f"{100 * x:.0f}%"


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
