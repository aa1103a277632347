"""A progress line per training pass: rows done, rows/s and the time left.

On a terminal the line is redrawn in place (at most ten times a second); in a log (CI, a
Kubernetes job) one line is written every ``LOG_EVERY_S`` seconds and one at the end, so a
long run shows it is alive without flooding the log.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import TextIO

LOG_EVERY_S = 15.0


@dataclass(frozen=True)
class PassStats:
    name: str
    rows: int
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class Progress:
    def __init__(self, name: str, total: int | None, *, enabled: bool = True, out: TextIO | None = None) -> None:
        self.name = name
        self.total = total
        self.enabled = enabled
        self.out = out or sys.stderr
        self.live = self.enabled and self.out.isatty()
        self.rows = 0
        self.started = time.monotonic()
        self.shown = self.started
        self.extra = ""

    def line(self) -> str:
        elapsed = time.monotonic() - self.started
        rate = self.rows / elapsed if elapsed > 0 else 0.0
        if self.total:
            share = min(self.rows / self.total, 1.0)
            left = (self.total - self.rows) / rate if rate > 0 and self.rows < self.total else 0.0
            bar = "#" * int(share * 20)
            done = f"[{bar:<20}] {self.rows:,}/{self.total:,} rows"
            tail = f"ETA {_clock(left)}" if self.rows < self.total else f"in {_clock(elapsed)}"
        else:
            done, tail = f"{self.rows:,} rows", f"in {_clock(elapsed)}"
        return f"{self.name}: {done}  {rate:,.0f} rows/s  {tail}{self.extra}"

    def update(self, rows: int, extra: str = "") -> None:
        self.rows += rows
        if extra:
            self.extra = f"  {extra}"
        if not self.enabled:
            return
        now = time.monotonic()
        if self.live and now - self.shown >= 0.1:
            self.out.write("\r" + self.line() + "\x1b[K")
            self.out.flush()
            self.shown = now
        elif not self.live and now - self.shown >= LOG_EVERY_S:
            self.out.write(self.line() + "\n")
            self.out.flush()
            self.shown = now

    def close(self, extra: str = "") -> PassStats:
        if extra:
            self.extra = f"  {extra}"
        if self.enabled:
            self.out.write(("\r" if self.live else "") + self.line() + ("\x1b[K\n" if self.live else "\n"))
            self.out.flush()
        return PassStats(self.name, self.rows, time.monotonic() - self.started)
