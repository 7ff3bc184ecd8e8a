"""The C++ sequence's small matrix products (small_gemm in dnc_sequence.cpp, exposed as the
op small_matmul): the per-step products of a batch's few rows with a weight matrix."""

from __future__ import annotations

import pytest
import torch

from dnc_qa.memory import native

pytestmark = pytest.mark.skipif(native.kernels() is None, reason="C++ kernels unavailable")

SHAPES = [(m, k, n) for m in (1, 2, 3, 4, 5, 7, 8, 16)
          for k, n in ((1, 1), (5, 3), (9, 16), (17, 15), (33, 17), (64, 63), (128, 64),
                       (70, 65), (128, 658), (658, 128), (192, 128))]
"""Every remainder of the 4-row tiles, and columns below, at and past the 64-column tiles
and their multiples (658: the recipe's interface layer)."""


def _ops():
    return native.kernels()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_small_matmul_against_torch(dtype: torch.dtype) -> None:
    k_ops = _ops()
    g = torch.Generator().manual_seed(0)
    # float32: sums of up to 658 products of magnitude ~1, so absolute errors of ~1e-5
    tol = {"rtol": 1e-5, "atol": 1e-4} if dtype == torch.float32 else {"rtol": 1e-12,
                                                                       "atol": 1e-12}
    empty = torch.empty(0, dtype=dtype)
    for m, k, n in SHAPES:
        a = torch.randn(m, k, generator=g, dtype=dtype)
        b = torch.randn(k, n, generator=g, dtype=dtype)
        bias = torch.randn(n, generator=g, dtype=dtype)
        rows = torch.randn(m, n, generator=g, dtype=dtype)
        want = a @ b
        torch.testing.assert_close(k_ops.small_matmul(a, b, empty), want, **tol)
        torch.testing.assert_close(k_ops.small_matmul(a, b, bias), want + bias, **tol)
        torch.testing.assert_close(k_ops.small_matmul(a, b, rows), want + rows, **tol)


def test_small_matmul_reads_strided_rows() -> None:
    """B's rows may be further apart than its width (the sequence pads them to 16 entries),
    the init rows too (the sequence's x part of the gates, one step of [B, T, G])."""
    k_ops = _ops()
    g = torch.Generator().manual_seed(1)
    a = torch.randn(4, 128, generator=g)
    wide = torch.randn(128, 672, generator=g)
    b = wide[:, :658]
    assert b.stride(0) == 672
    xg = torch.randn(4, 10, 658, generator=g)
    init = xg[:, 3]
    assert init.stride(0) == 10 * 658
    torch.testing.assert_close(k_ops.small_matmul(a, b, init), init + a @ b, rtol=1e-5, atol=1e-5)


def test_small_matmul_refuses_bad_shapes() -> None:
    k_ops = _ops()
    a, b = torch.randn(2, 3), torch.randn(4, 5)
    with pytest.raises(RuntimeError, match="shapes"):
        k_ops.small_matmul(a, b, torch.empty(0))
    with pytest.raises(RuntimeError, match="init"):
        k_ops.small_matmul(a, torch.randn(3, 5), torch.randn(4))
