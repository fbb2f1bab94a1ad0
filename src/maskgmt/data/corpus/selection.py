"""Which scores a build uses (parsed in parallel, in seeded order) and which split each joins."""

from __future__ import annotations

import multiprocessing
import random
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from maskgmt.data.corpus.catalog import PieceRef, candidate_pieces
from maskgmt.data.corpus.config import CorpusConfig
from maskgmt.data.corpus.scores import PieceNotes, is_cached, load_piece
from maskgmt.progress import tqdm

PARALLEL_PARSE_MIN = 8  # below this many uncached scores, a process pool costs more than it saves


def _load_all(
    refs: list[PieceRef], cache_dir: Path, workers: int, progress: bool
) -> list[PieceNotes | str]:
    # Parsing is pure-Python music21 work, so it needs processes, not threads, to use the cores.
    todo = [r for r in refs if not is_cached(r, cache_dir)]
    if workers > 1 and len(todo) >= PARALLEL_PARSE_MIN:
        methods = multiprocessing.get_all_start_methods()
        ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            jobs = pool.map(load_piece, todo, [cache_dir] * len(todo), chunksize=4)
            for _ in tqdm(jobs, total=len(todo), desc="parse scores", disable=not progress):
                pass  # the results land in the cache; read back below in `refs` order
    else:
        for ref in tqdm(todo, desc="parse scores", disable=not progress or not todo):
            load_piece(ref, cache_dir)
    return [load_piece(r, cache_dir) for r in refs]


def select_pieces(
    config: CorpusConfig, *, cache_dir: Path, workers: int, progress: bool = True
) -> tuple[list[PieceNotes], list[dict]]:
    """The first config.n_pieces usable scores in the seeded candidate order, and the skipped.

    Pieces are accepted in candidate order whatever the batch sizes, so the choice depends on
    the seed and the music21 corpus only.
    """
    candidates = candidate_pieces(config.sources, config.seed)
    chosen: list[PieceNotes] = []
    skipped: list[dict] = []
    pos = 0
    while len(chosen) < config.n_pieces and pos < len(candidates):
        need = config.n_pieces - len(chosen)
        batch = candidates[pos : pos + need + need // 4 + 2]  # a margin for skipped scores
        pos += len(batch)
        for ref, result in zip(batch, _load_all(batch, cache_dir, workers, progress), strict=True):
            if len(chosen) == config.n_pieces:
                break
            if isinstance(result, str):
                skipped.append({"piece": ref.piece, "reason": result})
            else:
                chosen.append(result)
    if not chosen:
        raise RuntimeError(
            f"no usable score among {len(candidates)} candidates of sources "
            f"{list(config.sources)}; see the skipped reasons in report.json"
        )
    return chosen, skipped


def split_pieces(pieces: list[str], config: CorpusConfig) -> dict[str, str]:
    """piece id -> split; whole pieces go to one split, every split non-empty from 3 pieces."""
    order = sorted(pieces)
    random.Random(f"{config.seed}/splits").shuffle(order)
    n = len(order)
    n_test = max(1, round(n * config.test_fraction)) if n >= 2 else 0
    n_valid = max(1, round(n * config.valid_fraction)) if n >= 3 else 0
    split = {p: "test" for p in order[:n_test]}
    split |= {p: "valid" for p in order[n_test : n_test + n_valid]}
    split |= {p: "train" for p in order[n_test + n_valid :]}
    return split
