"""Progress bars: redrawn in place on a terminal, a few lines when written to a log."""

from __future__ import annotations

import io

from maskgmt.progress import LOG_INTERVAL_S, tqdm


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _run(stream: io.StringIO, n: int = 2000) -> tqdm:
    with tqdm(total=n, desc="work", file=stream) as bar:
        for _ in range(n):
            bar.update(1)
    return bar


def test_a_redirected_bar_writes_a_few_lines_and_its_end() -> None:
    log = io.StringIO()
    bar = _run(log)
    assert bar.mininterval == LOG_INTERVAL_S
    redraws = [part for part in log.getvalue().split("\r") if part.strip()]
    assert len(redraws) <= 3, redraws  # the start and the end, not 2000 updates
    assert "2000/2000" in redraws[-1]


def test_a_terminal_bar_keeps_tqdms_rate_and_explicit_settings_win() -> None:
    assert _run(Terminal(), 10).mininterval == 0.1  # tqdm's own default
    with tqdm(total=1, file=io.StringIO(), mininterval=0.5) as bar:
        assert bar.mininterval == 0.5
