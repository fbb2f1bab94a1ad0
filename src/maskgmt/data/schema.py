"""The token cache's columns: fixed ones, the manifest's extra fields, optional text embeddings."""

from __future__ import annotations

import datasets
import pyarrow as pa


def cache_features(
    *, n_q: int, extra: dict[str, pa.DataType], text_dim: int | None
) -> datasets.Features:
    """The cache's columns: codes int16 [K, T], num_frames, text, duration (s), audio (path),
    manifest extras, and text_embeds float16 [L, D] + text_len when text is cached."""
    features = {
        "codes": datasets.Sequence(datasets.Sequence(datasets.Value("int16")), length=n_q),
        "num_frames": datasets.Value("int32"),
        "text": datasets.Value("string"),
        "duration": datasets.Value("float64"),
        "audio": datasets.Value("string"),
    }
    extras = datasets.Features.from_arrow_schema(pa.schema(list(extra.items())))
    features.update(extras)
    if text_dim is not None:
        features["text_embeds"] = datasets.Sequence(
            datasets.Sequence(datasets.Value("float16"), length=text_dim)
        )
        features["text_len"] = datasets.Value("int32")
    return datasets.Features(features)


def extra_columns(rows: list[dict]) -> dict[str, pa.DataType]:
    """Arrow type of each manifest field besides audio/text/duration, over all rows.

    A field missing from some rows is null there. Types that cannot share a column (a number
    in one row, a string in another) raise ValueError naming the field and a clip.
    """
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(k for k in row if k not in {"audio", "text", "duration"}))
    columns = {}
    for name in names:
        values = [row.get(name) for row in rows]
        try:
            columns[name] = pa.array(values).type
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            first = next(type(v) for v in values if v is not None)
            odd = next(r for r in rows if r.get(name) is not None and type(r[name]) is not first)
            raise ValueError(
                f"manifest field {name!r} mixes types: {first.__name__} in some lines but "
                f"{type(odd[name]).__name__} {odd[name]!r} for {odd['audio']!r}; "
                "give every line the same type for it"
            ) from None
    return columns
