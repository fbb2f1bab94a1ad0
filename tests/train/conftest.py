"""Fixtures of the train tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from train_fixtures import make_cache


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 12-clip token cache with cached text embeddings."""
    return make_cache(tmp_path_factory.mktemp("cache") / "cache")
