"""Progress on standard error for runs longer than a second: a single simulation's bar."""

from __future__ import annotations

import io
import time

import pytest
from rich.console import Console

from cryoderm.commands import _research


def test_a_run_longer_than_the_delay_shows_a_bar_and_returns_its_value(monkeypatch) -> None:
    monkeypatch.setattr(_research, "PROGRESS_AFTER_S", 0.05)
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=80)

    def slow() -> int:
        time.sleep(0.4)
        return 42

    assert _research.wait_with_progress(slow, "simulating r1.toml", console) == 42
    assert "simulating r1.toml" in screen.getvalue()


def test_a_quick_run_stays_quiet_and_an_error_reaches_the_caller() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=80)
    assert _research.wait_with_progress(lambda: "done", "quick", console) == "done"
    assert screen.getvalue() == ""

    def broken() -> None:
        raise ValueError("no such case")

    with pytest.raises(ValueError, match="no such case"):
        _research.wait_with_progress(broken, "broken", console)
