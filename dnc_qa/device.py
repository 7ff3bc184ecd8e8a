"""Choosing the torch device from a user's ``--device`` option."""

from __future__ import annotations

import torch

from dnc_qa.errors import DncQaError


def resolve_device(name: str = "auto") -> torch.device:
    """Map ``"auto" | "cpu" | "cuda" | "cuda:N"`` to a :class:`torch.device`.

    ``auto`` picks CUDA when a GPU is visible, else the CPU. Asking for CUDA on a machine
    without one is a user error, not a crash.
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError) as exc:
        raise DncQaError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise DncQaError(f"device {name!r} asked for, but no CUDA GPU is visible; use --device cpu")
    return device
