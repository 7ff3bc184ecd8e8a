"""Shared CSV reading: a header, then rows each tagged with the line they start on."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

from dnc_qa.graphs.errors import GraphFormatError, line_col
from dnc_qa.graphs.limits import DEFAULT_LIMITS, Limits, read_text

NULLS = {"", "NULL", "null", "NA", "None"}


class Row(NamedTuple):
    """One CSV record: its fields by (lower-cased) column name and its 1-based line."""

    fields: dict[str, str]
    line: int

    @property
    def place(self) -> str:
        return line_col(self.line)


class CsvTable(NamedTuple):
    """A parsed CSV file: its path, lower-cased header and rows."""

    path: Path
    header: tuple[str, ...]
    rows: list[Row]


def read_csv(
    path: Path, required: Sequence[str], limits: Limits = DEFAULT_LIMITS
) -> CsvTable:
    """Parse ``path`` requiring a header with every column in ``required``.

    Blank lines are skipped; a row with the wrong number of fields is an error naming its line.
    """
    text = read_text(path, limits)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise GraphFormatError("empty file (no header row)", path=path)
        names = tuple(h.strip().lower() for h in header)
        missing = [c for c in required if c not in names]
        if missing:
            raise GraphFormatError(
                f"header lacks column(s) {', '.join(missing)}; expected "
                f"{','.join(required)} (found {','.join(names) or 'nothing'})",
                path=path,
                place=line_col(1),
            )
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise GraphFormatError(f"duplicate column(s) {', '.join(dup)}", path=path,
                                   place=line_col(1))
        rows = list(_rows(reader, names, path))
    except csv.Error as exc:
        raise GraphFormatError(
            f"invalid CSV: {exc}", path=path, place=line_col(reader.line_num)
        ) from None
    return CsvTable(path, names, rows)


def _rows(reader: csv._reader, names: tuple[str, ...], path: Path) -> Iterator[Row]:
    start = reader.line_num + 1
    for record in reader:
        if not record or all(not f.strip() for f in record):
            start = reader.line_num + 1
            continue
        if len(record) != len(names):
            raise GraphFormatError(
                f"expected {len(names)} fields ({','.join(names)}), found {len(record)}",
                path=path,
                place=line_col(start),
            )
        yield Row({n: f.strip() for n, f in zip(names, record, strict=True)}, start)
        start = reader.line_num + 1


def parse_float(row: Row, column: str, path: Path) -> float | None:
    """The column as a float, ``None`` when absent or NULL; anything else is an error."""
    raw = row.fields.get(column, "")
    if raw in NULLS:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise GraphFormatError(
            f"column {column!r} must be a number, not {raw!r}", path=path, place=row.place
        ) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise GraphFormatError(f"column {column!r} must be finite, not {raw!r}", path=path,
                               place=row.place)
    return value
