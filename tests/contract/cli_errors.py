"""Running the real CLI and checking the README's promise: one line on stderr, exit code 2, the real cause."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field

# no LOGSENTRY_* setting leaks in, but training reads only the data a case names (no public corpus)
ROOT_ENV = {k: v for k, v in os.environ.items() if not k.startswith("LOGSENTRY_")} | {"LOGSENTRY_CORPUS": "none"}


@dataclass(frozen=True)
class Case:
    name: str
    args: tuple[str, ...]
    cause: str  # a piece of text the one line must contain (case-insensitive)
    env: dict[str, str] = field(default_factory=dict)
    stdin: str | None = None


def run_cli(
    args: list[str] | tuple[str, ...], env: dict[str, str] | None = None, stdin: str | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "logsentry", *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=timeout,
        env=ROOT_ENV | (env or {}),
    )


def assert_one_clear_line(case: Case, done: subprocess.CompletedProcess[str]) -> None:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    shown = f"{case.name}: exit {done.returncode}, stderr:\n{done.stderr[-3000:]}"
    assert done.returncode == 2, shown
    assert "Traceback" not in done.stderr, shown
    assert len(lines) == 1, shown
    assert case.cause.lower() in lines[0].lower(), shown
    assert lines[0].startswith("logsentry"), shown
