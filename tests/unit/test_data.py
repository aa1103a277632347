"""The labelled CSV reader: the reference format, and bad rows reported by line."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logsentry.errors import DataError, MalformedRow
from logsentry.trainer.data import format_row, read_labelled_csv, read_labelled_text

GOOD = '|{"method":"get","path":"/a"}|,0\n'


def test_reads_rows_and_undoubles_literal_bars() -> None:
    text = GOOD + format_row({"method": "get", "query": {"q": "a|b||c"}}, 1)
    assert "a||b||||c" in text  # a literal bar is doubled on disk
    logs = read_labelled_text(text)
    assert logs.events[1]["query"]["q"] == "a|b||c"
    assert logs.labels.tolist() == [0, 1]
    assert logs.lines.tolist() == [1, 2]
    assert logs.rows_read == 2 and not logs.rejected


def test_malformed_rows_are_reported_with_their_line_and_skipped() -> None:
    text = (
        GOOD  # line 1
        + "|{not json}|,1\n"  # line 2
        + '|{"a":1}|,7\n'  # line 3: bad label
        + '|{"path":\n"/b"}|,1\n'  # lines 4-5: one record over two lines (valid)
        + "|[1,2]|,0\n"  # line 6: not an object
        + '|{"a":1}|\n'  # line 7: no label
        + '|{"path":"/c","q":NaN}|,0\n'  # line 8: NaN is not JSON (the stream refuses it too)
        + '|{"path":"/c","path":"/d"}|,0\n'  # line 9: duplicate key
        + '|{"user":"x"}|,0\n'  # line 10: not a request log
        + GOOD  # line 11
    )
    logs = read_labelled_text(text)
    assert [(r.line, r.reason.split(":")[0]) for r in logs.rejected] == [
        (2, "not_json"),
        (3, "label must be 0 or 1, found '7'"),
        (6, "not_object"),
        (7, "expected 2 or 3 fields (|json|,label[,family]), found 1"),
        (8, "not_json"),
        (9, "duplicate_key"),
        (10, "invalid_event"),
    ]
    assert logs.lines.tolist() == [1, 4, 11]
    assert logs.rows_read == 10
    assert "kept 3" in logs.summary() and "rejected 7" in logs.summary()


def test_strict_mode_makes_a_bad_row_fatal() -> None:
    with pytest.raises(MalformedRow, match="line 2"):
        read_labelled_text(GOOD + "|oops|,0\n", strict=True)


def test_file_with_no_usable_rows_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("|x|,0\n")
    with pytest.raises(DataError, match="no usable rows"):
        read_labelled_csv(path)


def test_non_utf8_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(GOOD.encode() + b'|{"a":"\xff"}|,0\n')
    with pytest.raises(DataError, match="line 2: not UTF-8"):
        read_labelled_csv(path)


def test_hash_identifies_the_file(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(GOOD)
    first = read_labelled_csv(path).sha256
    path.write_text(GOOD + GOOD)
    assert read_labelled_csv(path).sha256 != first


def test_lines_end_at_newlines_only_and_an_over_long_line_is_refused_unread(tmp_path: Path) -> None:
    from logsentry.trainer.sources import TRAINING_LIMITS

    path = tmp_path / "mixed.csv"
    path.write_bytes(
        GOOD.encode()  # line 1
        + b'|{"method":"get",\r"path":"/b"}|,1\r\n'  # line 2: a bare \r inside the quotes, a \r\n ending
        + b'|{"method":"get"}|,0\rjunk\n'  # line 3: a bare \r outside them: refused, not two lines
        + b"|"
        + b"x" * (2 * TRAINING_LIMITS.max_bytes + 10)
        + b"|,0\n"  # line 4: never held
        + GOOD.encode()  # line 5
    )
    logs = read_labelled_csv(path)
    assert logs.lines.tolist() == [1, 2, 5]  # as `wc -l` and an editor count them
    assert logs.events[1]["path"] == "/b"
    assert [(r.line, r.reason.split(":")[0]) for r in logs.rejected] == [
        (3, "not a CSV row"),
        (4, "too_large"),
    ]
    log = tmp_path / "access.log"
    log.write_bytes(b'{"method":"get","path":"/a"}\r\n{"method":"get",\r"path":"/b"}\n\n{"user":"x"}\n')
    kept = read_labelled_csv(log, label=0)
    assert kept.lines.tolist() == [1, 2] and [r.line for r in kept.rejected] == [4]


def test_a_row_as_large_as_a_message_may_be_is_read(tmp_path: Path) -> None:
    import csv

    from logsentry.trainer.sources import TRAINING_LIMITS

    csv.field_size_limit(128 * 1024)  # the csv module's default, whatever ran before in this process
    cookie = "k=" + "v" * (TRAINING_LIMITS.max_bytes - 200)  # a busy site's cookies: past 128 KiB, within a message
    path = tmp_path / "busy.csv"
    path.write_text(format_row({"method": "get", "path": "/a", "headers": {"cookie": cookie}}, 0) + GOOD)
    logs = read_labelled_csv(path)
    assert not logs.rejected, logs.rejected[:1]
    assert logs.lines.tolist() == [1, 2] and logs.events[0]["headers"]["cookie"] == cookie


def _reader_records(text: str) -> list[tuple[int, list[str] | str]]:
    """What the csv reader alone makes of ``text``: (start line, fields or "error") per non-blank record."""
    import csv
    import io

    reader = csv.reader(io.StringIO(text, newline="\n"), quotechar="|", doublequote=True, strict=False)
    out: list[tuple[int, list[str] | str]] = []
    start = 1
    while True:
        try:
            fields: list[str] | str = next(reader)
        except StopIteration:
            return out
        except csv.Error:
            fields = "error"
        if fields:
            out.append((start, fields))
        start = reader.line_num + 1


_PIECES = st.lists(st.sampled_from(["|", "||", "a", ",", "0", " ", "\r", "\x00", "\n"]), max_size=8).map("".join)
_LINES = st.lists(st.one_of(_PIECES, _PIECES.map(lambda p: "|" + p)), max_size=6)  # many start as a row does


@given(_LINES)
@settings(max_examples=1000, deadline=None)
def test_rows_split_at_string_speed_read_as_the_csv_reader_reads_them(pieces: list[str]) -> None:
    import io

    from logsentry.trainer.sources import _csv_records

    text = "".join(p + "\n" for p in pieces)  # lines of bars, commas, carriage returns, NULs
    ours = [
        (line, "error" if isinstance(f, MalformedRow) else f)
        for line, f in _csv_records(io.StringIO(text, newline="\n"))
    ]
    assert ours == _reader_records(text)
