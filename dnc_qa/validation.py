"""Argument checks shared by the models and memories: clear ``ValueError`` messages."""

from __future__ import annotations


def check_positive_ints(**values: object) -> None:
    """Raise ``ValueError`` naming the first argument that is not a positive ``int``."""
    for name, value in values.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
