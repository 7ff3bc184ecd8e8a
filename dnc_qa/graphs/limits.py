"""Size limits applied while reading, and the checked file reader every format uses."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dnc_qa.graphs.errors import GraphFormatError, line_col

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Refuse input larger than this before building anything.

    Attributes:
        max_bytes: largest file read (a transit folder: each of its files), default 50 MB.
        max_nodes: most nodes a graph may have.
        max_edges: most directed edges a graph may have (an undirected edge counts twice).
    """

    max_bytes: int = 50 * MB
    max_nodes: int = 100_000
    max_edges: int = 1_000_000


DEFAULT_LIMITS = Limits()


def check_size(path: Path, limits: Limits) -> None:
    """Raise if ``path`` is missing, not a file, or over ``limits.max_bytes``."""
    if not path.exists():
        raise GraphFormatError("no such file or folder", path=path)
    if not path.is_file():
        raise GraphFormatError("not a regular file", path=path)
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise GraphFormatError(
            f"file is {size:,} bytes, over the limit of {limits.max_bytes:,} bytes "
            "(raise it with --max-mb)",
            path=path,
        )


def read_text(path: Path, limits: Limits = DEFAULT_LIMITS) -> str:
    """Read a UTF-8 file (a leading BOM is dropped), checking its size first.

    Undecodable bytes raise :class:`GraphFormatError` naming the line and column of the first one.
    """
    check_size(path, limits)
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise GraphFormatError(
            f"not UTF-8 text (byte 0x{data[exc.start]:02x} cannot be decoded)",
            path=path,
            place=line_col(line, column),
        ) from None
