"""User-style captions for evaluation: a copy of a corpus manifest whose captions are short.

Each row's caption becomes one that names only the scored attributes (instrument, tempo, key,
register), in the short forms users type ("A slow cello melody in D minor, pitched high." or
"cello, slow tempo, D minor, high register"); every other field stays, so `maskgmt eval
--split OUT` scores the same clips against the same attributes. Audio paths are made absolute,
so OUT may live anywhere.

    python bench/short_captions.py WORK/corpus/test.jsonl --out WORK/test_short.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

from maskgmt.data.corpus.short_captions import SCORED, missing_fields, short_caption


def shorten(manifest: Path, out: Path, *, seed: int = 0) -> int:
    """Write `out`: `manifest` with short captions naming `SCORED`; returns the row count."""
    rows = [json.loads(line) for line in manifest.read_text().splitlines() if line.strip()]
    rng = random.Random(seed)
    with out.open("w") as f:
        for row in rows:
            missing = missing_fields(row)
            if missing:
                sys.exit(f"{manifest}: a row lacks {missing}; use a manifest of `corpus build`")
            row["text"] = short_caption(row, SCORED, rng)
            row["audio"] = str((manifest.parent / row["audio"]).resolve())
            f.write(json.dumps(row) + "\n")
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manifest", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"{args.out}: {shorten(args.manifest, args.out, seed=args.seed)} rows")


if __name__ == "__main__":
    main()
