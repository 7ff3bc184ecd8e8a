"""Memory access for the DNC and the NTM (see ``docs/memory.md``).

The names below load on first use, so that torch-free code (the NumPy inference) can read
:mod:`dnc_qa.memory.layout` without importing torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dnc_qa.memory.dnc import DNCInterface, DNCMemory, DNCState
    from dnc_qa.memory.ntm import NTMInterface, NTMMemory, NTMState

_WHERE = {
    "DNCInterface": "dnc", "DNCMemory": "dnc", "DNCState": "dnc",
    "NTMInterface": "ntm", "NTMMemory": "ntm", "NTMState": "ntm",
}

__all__ = ["DNCInterface", "DNCMemory", "DNCState", "NTMInterface", "NTMMemory", "NTMState"]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"dnc_qa.memory.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'dnc_qa.memory' has no attribute {name!r}")
