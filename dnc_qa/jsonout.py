"""Strict JSON for every ``--json`` output and every JSON file the workspace writes.

:func:`dumps` is :func:`json.dumps` with ``allow_nan=False`` after replacing every non-finite
float (``NaN``, ``Infinity``) by ``null``: the output always parses with a strict JSON parser.
C1 control characters (U+0080-U+009F) and the Unicode direction overrides are written as
``\\u`` escapes even with ``ensure_ascii=False``, so printing the text cannot drive a
terminal (C0 controls are always escaped by :mod:`json`).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

_UNSAFE = re.compile("[\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def finite(value: Any) -> Any:
    """``value`` with every non-finite float replaced by ``None`` (recursively through dicts,
    lists and tuples); other values are returned as they are."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def dumps(value: Any, **kwargs: Any) -> str:
    """Strict JSON text of ``value`` (see the module docstring); keyword arguments as for
    :func:`json.dumps` (``allow_nan`` is always off)."""
    kwargs["allow_nan"] = False
    default = kwargs.get("default")
    if default is not None:
        kwargs["default"] = lambda o: finite(default(o))
    text = json.dumps(finite(value), **kwargs)
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
