"""The C++ CPU kernels: where their sources are, how they are built, and how to get them.

The sources are in ``dnc_qa/memory/csrc/`` and compile into one extension module, in this
order (later files call earlier ones):

* ``dnc_step.cpp``: the whole DNC memory step, forward and backward, and the interface's
  activations (the C++ step backend, :mod:`dnc_qa.memory.backends.cpp`); also the row loops
  the link kernels share;
* ``dnc_link.cpp``: the temporal link alone (``link_forward`` / ``link_backward``), for the
  PyTorch step's link node (:mod:`dnc_qa.memory.link_function`) and the sequence below;
* ``dnc_sequence.cpp``: a whole DNC sequence with a one-layer controller (the C++ sequence
  backend, :mod:`dnc_qa.memory.backends.cpp_sequence`);
* ``sparse_link.cpp``: the sparse (SDNC) link step (:mod:`dnc_qa.memory.sparse_link`).

The kernels are normally compiled when the package is installed (``setup.py`` builds this
module's translation unit, :func:`translation_unit`, with :func:`compile_flags`, into
``dnc_qa/memory/_native_<key>``; the key digests the sources, the flags and the torch version,
so a module built from other sources or for another torch is never loaded). When no such
module is there (an install without torch at build time, sources edited since), they are
compiled with ``torch.utils.cpp_extension.load_inline`` the first time they are needed (about
a minute, once, cached under ``~/.cache/torch_extensions``; a line on stderr says so). When
they cannot be built at all, :func:`kernels` returns ``None`` and
:func:`dnc_qa.memory.backends.choose_backend` says so in its reason (the PyTorch step runs).
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

CSRC = Path(__file__).with_name("csrc")
SOURCES = ("dnc_step.cpp", "dnc_link.cpp", "dnc_sequence.cpp", "sparse_link.cpp")
"""The kernel sources in ``csrc/``, in the order they are compiled into one translation unit."""

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
    "small_matmul",
    "sparse_link_forward",
    "sparse_link_backward",
)
JIT_NAME = "dnc_qa_native_v4"
BUILD_MESSAGE = "dnc_qa: building native kernels, once, about a minute..."


def _sources() -> list[str]:
    """The kernel sources for ``load_inline`` (one translation unit, in :data:`SOURCES`'s
    order). torch rebuilds when these texts change, but does not look into the header the
    sources include, so its digest is stamped into the first."""
    header = (CSRC / "aligned.h").read_text()
    stamp = f"// aligned.h sha1 {hashlib.sha1(header.encode()).hexdigest()}\n"
    texts = [(CSRC / name).read_text() for name in SOURCES]
    return [stamp + texts[0], *texts[1:]]


def compile_flags(openmp: bool = True) -> list[str]:
    """The compiler flags of both builds (install time and first use)."""
    return list(_CFLAGS) if openmp else [f for f in _CFLAGS if f != "-fopenmp"]


def link_flags(openmp: bool = True) -> list[str]:
    """The linker flags of both builds."""
    return ["-fopenmp"] if openmp else []


def include_dir() -> str:
    """The folder the sources include headers from (``aligned.h``)."""
    return str(CSRC)


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
    """The compiled kernel module, or ``None`` when the build failed (or, with
    ``build=False``, when they are not built yet).

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
                    f"dnc_qa: the C++ kernels could not be built ({type(exc).__name__}: "
                    f"{exc}); the PyTorch step runs instead",
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

