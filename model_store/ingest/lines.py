"""Lines of a file, as every command that reads one counts them, within a bound on their size.

A line is what ends in ``\\n`` (with an optional ``\\r`` before it, which is not part of it),
or the end of the file: a bare ``\\r`` inside a line is a character of that line, so line
numbers match ``wc -l`` and an editor. A line longer than ``max_bytes`` is never held: it is
read past in pieces and reported by its number and size only, so what a file holds cannot
decide how much memory reading it takes.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

PIECE = 1 << 16  # bytes read at a time while skipping an over-long line


@dataclass(frozen=True)
class Line:
    number: int  # 1-based
    value: bytes | None  # without its line end; None when longer than the limit
    size: int  # its length in bytes, line end excluded

    @property
    def blank(self) -> bool:
        return self.value is not None and not self.value.strip()


def read_lines(handle: BinaryIO, max_bytes: int) -> Iterator[Line]:
    """Every line of ``handle`` in order (see the module docstring); ``value`` None past ``max_bytes``."""
    number = 0
    while True:
        raw = handle.readline(max_bytes + 2)  # room for the line end
        if not raw:
            return
        number += 1
        ended = raw.endswith(b"\n")
        if not ended and len(raw) == max_bytes + 2:  # too long: read past the rest, keep only its size
            size = len(raw)
            while not ended:
                piece = handle.readline(PIECE)
                if not piece:
                    break
                ended = piece.endswith(b"\n")
                size += len(piece)
            yield Line(number, None, size - ended)
            continue
        value = raw[:-1] if ended else raw
        if ended and value.endswith(b"\r"):
            value = value[:-1]
        if len(value) > max_bytes:
            yield Line(number, None, len(value))
        else:
            yield Line(number, value, len(value))


def allow_csv_fields(max_bytes: int) -> None:
    """Let the :mod:`csv` reader hold a field of ``max_bytes``: its default limit (128 KiB) is
    below what a message may be, and refused a valid row as "field larger than field limit"."""
    csv.field_size_limit(max(csv.field_size_limit(), max_bytes))
