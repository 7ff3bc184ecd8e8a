"""Optional fused CPU kernels (built on first use with the C++ compiler).

Three families, compiled into one extension:

* the whole DNC memory step, forward and backward (``dnc_step_forward``/``dnc_step_backward``,
  source in ``csrc/dnc_step.cpp``, used through :mod:`dnc_qa.memory.fused`);
* a whole DNC sequence with a one-layer controller (``dnc_sequence_forward``/
  ``dnc_sequence_backward``, ``csrc/dnc_sequence.cpp``, used through
  :mod:`dnc_qa.models.fused_sequence`);
* the temporal link alone (below), used by every other configuration.

One pass over each ``N x N`` link slice does what the eager path needs several
``B x Hw x N x N`` temporaries for:

* ``link_forward``: ``L = (1 - w_a - w_b) L_prev + w_a p_b`` (zero diagonal) together with
  the forward and backward weightings ``f_i = L r_i``, ``b_i = L^T r_i``;
* ``link_backward``: recomputes ``L`` row by row from ``L_prev`` and returns the gradients
  with respect to ``L_prev``, ``p``, ``w`` and the read weights.

The arithmetic is that of ``docs/memory.md`` (steps 6 and 8, the links); only the
order of floating-point summation differs from the eager path. Slices (batch x write head)
run in parallel with ``at::parallel_for``.

The kernels are normally compiled when the package is installed (``setup.py`` builds this
module's translation unit, :func:`translation_unit`, with the same flags as below, into
``dnc_qa/memory/_native_<key>``; the key digests the sources, the flags and the torch version,
so a module built from other sources or for another torch is never loaded). When no such
module is there (an install without torch at build time, sources edited since), they are
compiled with ``torch.utils.cpp_extension.load_inline`` the first time they are needed (about
a minute, once, cached under ``~/.cache/torch_extensions``; a line on stderr says so). Both
take an ``out`` buffer (an empty tensor: allocate) so callers can recycle ``N x N`` buffers:
at large ``N`` the page faults of a fresh allocation cost as much as the kernel. Set
``DNC_QA_NATIVE=0`` to never use them (prebuilt or not); :func:`kernels` then returns ``None``
and callers use the eager PyTorch path (which is also what every non-CPU device uses).
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import os
import sys
import threading
import warnings
from pathlib import Path

STEP_SOURCE = Path(__file__).with_name("csrc") / "dnc_step.cpp"
SEQUENCE_SOURCE = STEP_SOURCE.with_name("dnc_sequence.cpp")  # appended: calls dnc_step.cpp

CPP_SOURCE = r"""
#include <torch/extension.h>
#include <ATen/Parallel.h>
#include <vector>

#include "aligned.h"  // dnc_qa_native::AlignedVector: scratch rows, same rounding every call

// Shapes: Lp, L [S, N, N]; p, w [S, N]; r [B, R, N] with S = B * H (slice s -> batch s / H).

template <typename scalar_t>
static void fwd_kernel(const scalar_t* Lp, const scalar_t* p, const scalar_t* w,
                       const scalar_t* r, scalar_t* L, scalar_t* f, scalar_t* b,
                       int64_t S, int64_t H, int64_t N, int64_t R) {
  at::parallel_for(0, S, 1, [&](int64_t s0, int64_t s1) {
    for (int64_t s = s0; s < s1; ++s) {
      const scalar_t* lp = Lp + s * N * N;
      scalar_t* l = L + s * N * N;
      const scalar_t* ps = p + s * N;
      const scalar_t* ws = w + s * N;
      const scalar_t* rs = r + (s / H) * R * N;
      scalar_t* fs = f + s * R * N;   // [S, R, N]
      scalar_t* bs = b + s * R * N;
      for (int64_t i = 0; i < R * N; ++i) bs[i] = 0;
      for (int64_t a = 0; a < N; ++a) {
        const scalar_t wa = ws[a];
        const scalar_t* lrow = lp + a * N;
        scalar_t* row = l + a * N;
        for (int64_t c = 0; c < N; ++c)
          row[c] = (scalar_t(1) - wa - ws[c]) * lrow[c] + wa * ps[c];
        row[a] = 0;
        for (int64_t i = 0; i < R; ++i) {
          const scalar_t* ri = rs + i * N;
          scalar_t acc = 0;
          for (int64_t c = 0; c < N; ++c) acc += row[c] * ri[c];
          fs[i * N + a] = acc;
          const scalar_t ria = ri[a];
          scalar_t* bi = bs + i * N;
          for (int64_t c = 0; c < N; ++c) bi[c] += ria * row[c];
        }
      }
    }
  });
}

// `out`: an optional buffer shaped like Lp to write L into (empty tensor: allocate).
std::vector<torch::Tensor> link_forward(torch::Tensor Lp, torch::Tensor p, torch::Tensor w,
                                        torch::Tensor r, torch::Tensor out) {
  const int64_t B = r.size(0), R = r.size(1), N = r.size(2);
  const int64_t H = Lp.size(1), S = B * H;
  auto L = out.numel() == Lp.numel() ? out : torch::empty_like(Lp);
  auto f = torch::empty({B, H, R, N}, Lp.options());
  auto b = torch::empty({B, H, R, N}, Lp.options());
  AT_DISPATCH_FLOATING_TYPES(Lp.scalar_type(), "link_forward", [&] {
    fwd_kernel<scalar_t>(Lp.data_ptr<scalar_t>(), p.data_ptr<scalar_t>(),
                         w.data_ptr<scalar_t>(), r.data_ptr<scalar_t>(), L.data_ptr<scalar_t>(),
                         f.data_ptr<scalar_t>(), b.data_ptr<scalar_t>(), S, H, N, R);
  });
  return {L, f, b};
}

template <typename scalar_t>
static void bwd_kernel(const scalar_t* Lp, const scalar_t* p, const scalar_t* w,
                       const scalar_t* r, const scalar_t* G, const scalar_t* gf,
                       const scalar_t* gb, scalar_t* dLp, scalar_t* dp, scalar_t* dw,
                       scalar_t* dr, int64_t S, int64_t H, int64_t N, int64_t R) {
  at::parallel_for(0, S, 1, [&](int64_t s0, int64_t s1) {
    dnc_qa_native::AlignedVector<scalar_t> row(N), g(N);
    for (int64_t s = s0; s < s1; ++s) {
      const scalar_t* lp = Lp + s * N * N;
      const scalar_t* gs = G ? G + s * N * N : nullptr;
      scalar_t* dl = dLp + s * N * N;
      const scalar_t* ps = p + s * N;
      const scalar_t* ws = w + s * N;
      const scalar_t* rs = r + (s / H) * R * N;
      const scalar_t* gfs = gf + s * R * N;  // [S, R, N]
      const scalar_t* gbs = gb + s * R * N;
      scalar_t* dps = dp + s * N;
      scalar_t* dws = dw + s * N;
      scalar_t* drs = dr + s * R * N;        // [S, R, N], summed over heads by the caller
      for (int64_t c = 0; c < N; ++c) { dps[c] = 0; dws[c] = 0; }
      for (int64_t i = 0; i < R * N; ++i) drs[i] = 0;
      for (int64_t a = 0; a < N; ++a) {
        const scalar_t wa = ws[a];
        const scalar_t* lrow = lp + a * N;
        // the link row as the forward pass computed it
        for (int64_t c = 0; c < N; ++c)
          row[c] = (scalar_t(1) - wa - ws[c]) * lrow[c] + wa * ps[c];
        row[a] = 0;
        // total gradient of this row of L: incoming + from f_i = L r_i and b_i = L^T r_i
        if (gs) {
          for (int64_t c = 0; c < N; ++c) g[c] = gs[a * N + c];
        } else {
          for (int64_t c = 0; c < N; ++c) g[c] = 0;
        }
        for (int64_t i = 0; i < R; ++i) {
          const scalar_t* ri = rs + i * N;
          const scalar_t gfa = gfs[i * N + a], ria = ri[a];
          const scalar_t* gbi = gbs + i * N;
          scalar_t* dri = drs + i * N;
          scalar_t acc = 0;
          for (int64_t c = 0; c < N; ++c) {
            g[c] += gfa * ri[c] + ria * gbi[c];
            dri[c] += row[c] * gfa;
            acc += row[c] * gbi[c];
          }
          dri[a] += acc;
        }
        g[a] = 0;  // the diagonal is overwritten with 0 in the forward pass
        scalar_t dwa = 0;
        scalar_t* dlrow = dl + a * N;
        for (int64_t c = 0; c < N; ++c) {
          const scalar_t gc = g[c];
          dlrow[c] = (scalar_t(1) - wa - ws[c]) * gc;
          dwa += gc * (ps[c] - lrow[c]);
          dws[c] -= gc * lrow[c];
          dps[c] += gc * wa;
        }
        dws[a] += dwa;
      }
    }
  });
}

std::vector<torch::Tensor> link_backward(torch::Tensor Lp, torch::Tensor p, torch::Tensor w,
                                         torch::Tensor r, torch::Tensor G, torch::Tensor gf,
                                         torch::Tensor gb, torch::Tensor out) {
  const int64_t B = r.size(0), R = r.size(1), N = r.size(2);
  const int64_t H = Lp.size(1), S = B * H;
  auto dLp = out.numel() == Lp.numel() ? out : torch::empty_like(Lp);
  auto dp = torch::empty_like(p);
  auto dw = torch::empty_like(w);
  auto dr = torch::empty({B, H, R, N}, Lp.options());
  const bool has_g = G.defined() && G.numel() > 0;
  AT_DISPATCH_FLOATING_TYPES(Lp.scalar_type(), "link_backward", [&] {
    bwd_kernel<scalar_t>(Lp.data_ptr<scalar_t>(), p.data_ptr<scalar_t>(),
                         w.data_ptr<scalar_t>(), r.data_ptr<scalar_t>(),
                         has_g ? G.data_ptr<scalar_t>() : nullptr, gf.data_ptr<scalar_t>(),
                         gb.data_ptr<scalar_t>(), dLp.data_ptr<scalar_t>(),
                         dp.data_ptr<scalar_t>(), dw.data_ptr<scalar_t>(),
                         dr.data_ptr<scalar_t>(), S, H, N, R);
  });
  return {dLp, dp, dw, dr};
}
"""

_lock = threading.Lock()
_module = None
_failed = False
_looked_for_prebuilt = False

_CFLAGS = [
    "-O3",
    "-march=native",
    "-fassociative-math",
    "-fno-signed-zeros",
    "-fno-trapping-math",
    # at::parallel_for is OpenMP in the headers: without it, one thread
    "-fopenmp",
]


FUNCTIONS = (
    "link_forward",
    "link_backward",
    "dnc_step_forward",
    "dnc_step_backward",
    "activate",
    "activate_backward",
    "dnc_sequence_forward",
    "dnc_sequence_backward",
    "dnc_sequence_live",
    "sparse_link_forward",
    "sparse_link_backward",
)
JIT_NAME = "dnc_qa_native_v3"
BUILD_MESSAGE = "dnc_qa: building native kernels, once, about a minute..."


def _sources() -> list[str]:
    """The kernel sources for ``load_inline`` (one translation unit, in this order). torch
    rebuilds when these texts change, but does not look into the header the sources include,
    so its digest is stamped into the first."""
    header = (STEP_SOURCE.parent / "aligned.h").read_text()
    stamp = f"// aligned.h sha1 {hashlib.sha1(header.encode()).hexdigest()}\n"
    return [
        stamp + CPP_SOURCE,
        STEP_SOURCE.read_text(),
        SEQUENCE_SOURCE.read_text(),
        STEP_SOURCE.with_name("sparse_link.cpp").read_text(),  # the sparse (SDNC) link step
    ]


def compile_flags(openmp: bool = True) -> list[str]:
    """The compiler flags of both builds (install time and first use)."""
    return list(_CFLAGS) if openmp else [f for f in _CFLAGS if f != "-fopenmp"]


def link_flags(openmp: bool = True) -> list[str]:
    """The linker flags of both builds."""
    return ["-fopenmp"] if openmp else []


def include_dir() -> str:
    """The folder the sources include headers from (``aligned.h``)."""
    return str(STEP_SOURCE.parent)


def translation_unit() -> str:
    """The exact C++ text ``load_inline`` compiles for :func:`kernels` (its ``main.cpp``):
    the extension header, the sources, then the pybind11 bindings of :data:`FUNCTIONS`. The
    install-time build compiles this same text, so both modules are the same code."""
    lines = ["#include <torch/extension.h>", *_sources(),
             "PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {"]
    lines += [f'm.def("{f}", torch::wrap_pybind_function({f}), "{f}");' for f in FUNCTIONS]
    lines.append("}")
    return "\n".join(lines)


def prebuilt_name(openmp: bool = True, torch_version: str | None = None) -> str:
    """The module name an install-time build of these sources and flags for this torch has
    (``_native_<key>``, in :mod:`dnc_qa.memory`)."""
    if torch_version is None:
        import torch

        torch_version = torch.__version__
    key = hashlib.sha1("\0".join([translation_unit(), torch_version, *compile_flags(openmp),
                                  *link_flags(openmp)]).encode()).hexdigest()[:16]
    return f"_native_{key}"


def _prebuilt():
    """The module built at install time for these sources and this torch, or ``None``."""
    for openmp in (True, False):
        name = f"{__package__}.{prebuilt_name(openmp)}"
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return None


@functools.cache
def _built_marker() -> Path:
    """A file that says these sources were built for this torch (see :func:`kernels`)."""
    import torch

    key = hashlib.sha1(
        "\0".join([*_sources(), torch.__version__, *_CFLAGS]).encode()
    ).hexdigest()[:16]
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache / "dnc_qa" / f"native-{key}.built"


def _build(openmp: bool):
    from torch.utils.cpp_extension import load_inline

    return load_inline(
        name=JIT_NAME if openmp else f"{JIT_NAME}_serial",
        cpp_sources=_sources(),
        functions=list(FUNCTIONS),
        extra_cflags=compile_flags(openmp),
        extra_include_paths=[include_dir()],
        extra_ldflags=link_flags(openmp),
        verbose=False,
    )


def kernels(build: bool = True):
    """The compiled kernel module, or ``None`` when disabled or the build failed.

    The module built at install time is used when there is one for these sources and this
    torch; otherwise the kernels are compiled here, once (a line on stderr says so).
    ``build=False`` (what no-grad passes ask for: the app's ingest, evaluation) returns the
    kernels only when they are prebuilt, loaded or were built before on this machine, and
    ``None`` otherwise instead of spending a minute compiling for one inference pass;
    training builds them.
    """
    global _module, _failed, _looked_for_prebuilt
    if _module is not None or _failed:
        return _module
    if os.environ.get("DNC_QA_NATIVE", "1") == "0":
        return None
    if not _looked_for_prebuilt:
        with _lock:
            if _module is None and not _looked_for_prebuilt:
                _module = _prebuilt()
                _looked_for_prebuilt = True
        if _module is not None:
            return _module
    if not build and not _built_marker().exists():
        return None
    with _lock:
        if _module is None and not _failed:
            if not _built_marker().exists():
                print(BUILD_MESSAGE, file=sys.stderr, flush=True)
            try:
                try:
                    _module = _build(openmp=True)
                except Exception:  # e.g. a compiler without OpenMP (Apple clang): one thread
                    _module = _build(openmp=False)
            except Exception as exc:  # no compiler, no headers, ...
                _failed = True
                warnings.warn(
                    f"dnc_qa: fused link kernels unavailable ({type(exc).__name__}: {exc}); "
                    "using the eager PyTorch path",
                    RuntimeWarning,
                    stacklevel=2,
                )
            else:
                try:
                    marker = _built_marker()
                    marker.parent.mkdir(parents=True, exist_ok=True)
                    marker.touch()
                except OSError:
                    pass  # a read-only cache: no-grad passes keep using the eager path
    return _module


def kernels_for(t):
    """:func:`kernels` for a tensor ``t``: ``None`` unless it is float32/float64 on the CPU;
    built in grad mode, only looked up without (see :func:`kernels`)."""
    import torch

    if t.device.type != "cpu" or t.dtype not in (torch.float32, torch.float64):
        return None
    return kernels(build=torch.is_grad_enabled())

