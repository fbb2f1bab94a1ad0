"""Manifests, the token cache and training datasets (imported lazily: `datasets` is heavy)."""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "read_manifest": "maskgmt.data.manifest",
    "manifest_from_folder": "maskgmt.data.manifest",
    "load_rows": "maskgmt.data.manifest",
    "prepare_cache": "maskgmt.data.prepare",
    "PrepareReport": "maskgmt.data.prepare",
    "CacheInfo": "maskgmt.data.cache",
    "load_cache": "maskgmt.data.cache",
    "merge_caches": "maskgmt.data.cache",
    "read_skipped": "maskgmt.data.cache",
    "CodesDataset": "maskgmt.data.dataset",
    "collate": "maskgmt.data.dataset",
    "split_for_rank": "maskgmt.data.dataset",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    # Lazy so that `maskgmt.data.attributes` (used by eval) does not pull in datasets/pyarrow.
    if name not in _EXPORTS:
        raise AttributeError(f"module 'maskgmt.data' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
