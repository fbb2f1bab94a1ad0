"""Where key accuracy is lost: the tonic, the mode, or neither.

Reads the `estimates.jsonl` of `maskgmt eval` folders and sorts each clip's estimated key
against its caption's: exact, parallel (same tonic, other mode), relative (the same scale with
the other tonic, e.g. C major / A minor), a fifth away (same mode), or other. Tonic accuracy
(exact + parallel) separates following the caption's tonic from following its mode. 95%
percentile-bootstrap intervals over clips; with two folders, the second minus the first,
paired clip by clip (the same captions and seeds), for the tonic and for every kind.

    python bench/key_errors.py EVAL_DIR [OTHER_EVAL_DIR] --out key_errors.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from maskgmt.eval.stats import diff_stat, estimate, mean_stat, resample_weights
from maskgmt.model.key_cue import caption_key

SOURCES = ("real", "codec", "generated", "shuffled")
KINDS = ("exact", "parallel", "relative", "fifth", "other")


def kind(reference: str, estimated: str) -> str:
    """How an estimated key relates to the caption's: one of KINDS."""
    ref, est = caption_key(reference), caption_key(estimated)
    if ref is None or est is None:
        raise ValueError(f"not a key: {reference!r} or {estimated!r}")
    (ref_pc, ref_minor), (est_pc, est_minor) = divmod(ref, 12)[::-1], divmod(est, 12)[::-1]
    step = (est_pc - ref_pc) % 12
    if ref == est:
        return "exact"
    if ref_minor != est_minor:
        if step == 0:
            return "parallel"
        relative = 3 if ref_minor else 9  # A minor's relative major is C, C major's is A minor
        return "relative" if step == relative else "other"
    return "fifth" if step in (5, 7) else "other"


def kinds(folder: Path) -> dict[str, list[str]]:
    """source -> the KINDS of each clip, in the folder's row order."""
    rows = [json.loads(line) for line in (folder / "estimates.jsonl").read_text().splitlines()]
    return {
        src: [kind(r["reference"]["key"], r[src]["key"]) for r in rows]
        for src in SOURCES
        if all((r.get(src) or {}).get("key") for r in rows)
    }


def _rounded(values: tuple[float, float, float]) -> list[float]:
    return [round(100 * v, 1) for v in values]


def _hits(labels: list[str]) -> dict[str, list[bool]]:
    """Each kind, then "tonic" (exact + parallel) -> whether each clip is one."""
    hits = {k: [x == k for x in labels] for k in KINDS}
    hits["tonic"] = [x in ("exact", "parallel") for x in labels]
    return hits


def summary(labels: list[str], weights: np.ndarray) -> dict:
    """Shares of each kind and the tonic accuracy, in % with intervals."""
    return {k: _rounded(estimate(mean_stat(h), weights)) for k, h in _hits(labels).items()}


def paired(base: list[str], other: list[str], weights: np.ndarray) -> dict:
    """Second minus first, clip by clip, in points: the tonic and the share of each kind."""
    a, b = _hits(base), _hits(other)
    diffs = {k: _rounded(estimate(diff_stat(mean_stat(b[k]), mean_stat(a[k])), weights)) for k in a}
    return {"tonic_other_minus_base": diffs.pop("tonic"), "other_minus_base": diffs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if len(args.folders) > 2:
        parser.error("give one eval folder, or two to compare")
    found = [kinds(f) for f in args.folders]
    n = len(found[0]["generated"])
    if any(len(f["generated"]) != n for f in found):
        parser.error("the folders score different numbers of clips; compare the same clips")
    weights = resample_weights(n)
    result = {
        str(folder): {src: summary(labels, weights) for src, labels in f.items()}
        for folder, f in zip(args.folders, found, strict=True)
    }
    if len(found) == 2:
        result.update(paired(found[0]["generated"], found[1]["generated"], weights))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    for folder, by_source in result.items():
        shown = by_source.get("generated") if isinstance(by_source, dict) else by_source
        print(folder, json.dumps(shown))


if __name__ == "__main__":
    main()
