"""Text that is safe to print on a terminal.

Names and labels come from user files; a crafted one can hold ESC, BEL, DEL or other
control characters that would move the cursor, rewrite the screen or change the terminal's
title.  :func:`printable` writes every such character as a visible escape (``\\x1b``,
``\\x7f``, ``\\u202e``), the way ``repr`` does in error messages; :func:`clip` shortens long
user text for messages.
"""

from __future__ import annotations

import re

_CONTROL = re.compile("[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f"
                      "\u202a-\u202e\u2066-\u2069\u2028\u2029]")
_CONTROL_NO_NL = re.compile("[\u0000-\u001f\u007f-\u009f\u200e\u200f"
                            "\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object, newlines: bool = True) -> str:
    """``str(text)`` with control characters escaped; tabs and (when ``newlines``) line
    breaks are kept."""
    return (_CONTROL if newlines else _CONTROL_NO_NL).sub(_escape, str(text))


def clip(text: str, limit: int = 200) -> str:
    """``text`` cut to ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit:,} more characters)"
