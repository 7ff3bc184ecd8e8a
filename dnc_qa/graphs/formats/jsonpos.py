"""Find the line and column of a value inside JSON text, given its path (``links[3].target``).

:func:`json.loads` reports positions only for syntax errors; readers use this to point at the
place of a *semantic* error (a dangling endpoint, a duplicate id) in valid JSON.

Finding a position scans the text from its start, so readers never compute one up front:
they hand a :class:`Place` to the graph builder, which turns it into text (and so scans)
only when an error message is written.  Reading stays linear in the size of the file.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

_DECODER = json.JSONDecoder()
_WS = " \t\n\r"

JsonPath = Sequence[str | int]


def path_text(path: JsonPath) -> str:
    """``("links", 3, "target")`` -> ``"links[3].target"``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in _WS:
        i += 1
    return i


def offset_of(text: str, path: JsonPath) -> int | None:
    """Character offset where the value at ``path`` starts, or ``None`` if it is absent."""
    i = _skip_ws(text, 0)
    for part in path:
        if i >= len(text):
            return None
        if isinstance(part, int) and text[i] == "[":
            i = _skip_ws(text, i + 1)
            for _ in range(part):
                if text[i] == "]":
                    return None
                _, i = _DECODER.raw_decode(text, i)
                i = _skip_ws(text, i)
                if text[i] != ",":
                    return None
                i = _skip_ws(text, i + 1)
            if text[i] == "]":
                return None
        elif isinstance(part, str) and text[i] == "{":
            i = _skip_ws(text, i + 1)
            while True:
                if text[i] == "}":
                    return None
                key, i = json.decoder.scanstring(text, i + 1)
                i = _skip_ws(text, i)
                i = _skip_ws(text, i + 1)  # past ':'
                if key == part:
                    break
                _, i = _DECODER.raw_decode(text, i)
                i = _skip_ws(text, i)
                if text[i] != ",":
                    return None
                i = _skip_ws(text, i + 1)
        else:
            return None
    return i


class Place:
    """The place of ``path`` in ``text``, computed by :func:`position_of` only when it is
    turned into a string (for an error message), and then remembered."""

    __slots__ = ("_path", "_text", "_shown")

    def __init__(self, text: str, path: JsonPath) -> None:
        self._text, self._path = text, tuple(path)
        self._shown: str | None = None

    def __str__(self) -> str:
        if self._shown is None:
            self._shown = position_of(self._text, self._path) if self._text else (
                path_text(self._path) or "top level")
        return self._shown

    def __repr__(self) -> str:
        return f"Place({path_text(self._path)!r})"


def position_of(text: str, path: JsonPath) -> str:
    """A place string for ``path``: ``"links[3].target (line 9, column 17)"``.

    Falls back to the deepest present ancestor when the path itself is absent (a missing key).
    """
    name = path_text(path) or "top level"
    for depth in range(len(path), -1, -1):
        offset = offset_of(text, path[:depth])
        if offset is not None:
            line = text.count("\n", 0, offset) + 1
            column = offset - (text.rfind("\n", 0, offset) + 1) + 1
            return f"{name} (line {line}, column {column})"
    return name
