"""Shared by the NumPy-inference tests: torch <-> NumPy states and a strict comparison."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

RTOL = {np.float64: 1e-10, np.float32: 1e-5}
ATOL = {np.float64: 1e-12, np.float32: 1e-6}


def to_numpy(value: Any) -> Any:
    """Every tensor in a nested NamedTuple / tuple state as a NumPy array (same structure)."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    if isinstance(value, tuple):
        items = [to_numpy(v) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    return value


def assert_same(np_value: Any, torch_value: Any, dtype: type = np.float64, where: str = "") -> int:
    """Assert a NumPy structure equals a torch one value by value; returns how many arrays
    were compared (so a caller can check something was)."""
    if torch_value is None or np_value is None:
        assert np_value is None and torch_value is None, f"{where}: one side is None"
        return 0
    if isinstance(torch_value, torch.Tensor):
        assert isinstance(np_value, np.ndarray), f"{where}: {type(np_value).__name__}"
        expected = torch_value.detach().cpu().numpy()
        assert np_value.shape == expected.shape, (where, np_value.shape, expected.shape)
        assert np_value.dtype == expected.dtype, (where, np_value.dtype, expected.dtype)
        np.testing.assert_allclose(np_value, expected, rtol=RTOL[dtype], atol=ATOL[dtype],
                                   err_msg=where)
        return 1
    assert isinstance(torch_value, tuple) and len(np_value) == len(torch_value), where
    fields = getattr(torch_value, "_fields", None) or [str(i) for i in range(len(torch_value))]
    if hasattr(torch_value, "_fields"):
        assert tuple(np_value._fields) == tuple(fields), (where, np_value._fields, fields)
    return sum(assert_same(a, b, dtype, f"{where}.{name}")
               for name, a, b in zip(fields, np_value, torch_value, strict=True))
