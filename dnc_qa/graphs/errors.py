"""The one exception every graph or knowledge-base reader raises for bad input.

A :class:`GraphFormatError` always names the file and, when it is known, the place inside it
(``line 3, column 17`` for JSON/XML/GML, ``line 4`` for a CSV row, ``links[2].target`` for a
JSON path).  Its message is a single line, so the CLI can print it as ``error: ...`` and exit 2.
"""

from __future__ import annotations

import os

from dnc_qa.errors import DncQaError


def _one_line(text: str) -> str:
    """Collapse whitespace (newlines included) so the message prints as one line."""
    return " ".join(str(text).split())


class GraphFormatError(DncQaError):
    """A graph, transit folder or knowledge-base file cannot be used.

    Attributes:
        path: the file or folder, as given (``None`` for in-memory input).
        place: where inside it, e.g. ``"line 3, column 5"`` or ``"line 7"`` (``None`` if unknown).
        reason: what is wrong, without the path and place.
    """

    def __init__(
        self, reason: str, *, path: str | os.PathLike[str] | None = None, place: str | None = None
    ) -> None:
        self.path = None if path is None else os.fspath(path)
        self.place = None if place is None else _one_line(place)
        self.reason = _one_line(reason)
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [p for p in (self.path, self.place) if p]
        parts.append(self.reason)
        return ": ".join(parts)

    def at(self, path: str | os.PathLike[str] | None) -> GraphFormatError:
        """The same error with ``path`` filled in when it was not known where it was raised."""
        if self.path is not None:
            return self
        return GraphFormatError(self.reason, path=path, place=self.place)


def line_col(line: int, column: int | None = None) -> str:
    """Format a place: ``line 3, column 5`` (1-based) or ``line 3``."""
    return f"line {line}" if column is None else f"line {line}, column {column}"
