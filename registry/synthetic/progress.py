"""The generator's progress: one line on stderr per stage, so a 10 M load that runs for
minutes shows where it is and how long it has left."""

from __future__ import annotations

import sys
import time

__all__ = ["Progress"]


class Progress:
    """One line on stderr per stage: done/total, rate and time left (redrawn on a terminal)."""

    def __init__(self, enabled: bool) -> None:
        self._enabled = enabled
        self._tty = enabled and sys.stderr.isatty()
        self._name = ""
        self._total = 0
        self._done = 0
        self._started = self._shown = time.monotonic()

    def stage(self, name: str, total: int) -> None:
        self._end_line()
        self._name, self._total, self._done = name, total, 0
        self._started = self._shown = time.monotonic()

    def advance(self, count: int) -> None:
        self._done += count
        now = time.monotonic()
        if self._enabled and (self._done >= self._total or now - self._shown >= (0.25 if self._tty else 10.0)):
            self._shown = now
            self._draw(now)

    def finish(self) -> None:
        self._end_line()

    def _draw(self, now: float) -> None:
        elapsed = max(now - self._started, 1e-9)
        rate = self._done / elapsed
        left = (self._total - self._done) / rate if rate > 0 else 0.0
        share = 100.0 * self._done / max(self._total, 1)
        line = (
            f"synth {self._name:<12} {self._done:>12,}/{self._total:,} {share:5.1f}% "
            f"{rate:>11,.0f}/s  {elapsed:6.1f}s  left {left:6.1f}s"
        )
        sys.stderr.write(("\r" + line) if self._tty else (line + "\n"))
        sys.stderr.flush()

    def _end_line(self) -> None:
        if self._tty and self._name:
            sys.stderr.write("\n")
            sys.stderr.flush()
