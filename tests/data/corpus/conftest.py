"""One small corpus build per session (a dozen 4-second clips), shared by the corpus tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from corpus_helpers import Built, build


@pytest.fixture(scope="session")
def corpus_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("score-cache")


@pytest.fixture(scope="session")
def built(tmp_path_factory, corpus_cache) -> Built:
    """The reference build (parses scores into a fresh cache, renders every clip)."""
    return build(tmp_path_factory.mktemp("corpus"), corpus_cache)
