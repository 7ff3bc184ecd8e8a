"""The ways of computing a DNC memory step, and the one place that chooses between them.

Every backend computes the arithmetic of ``docs/memory.md`` (the tests hold each to the
naive float64 transcription of the equations and to each other); they differ in how:

========================  ==================================================================
``torch``                 the PyTorch step: one function per mechanism
                          (:mod:`~dnc_qa.memory.backends.pytorch`); every configuration of
                          dense links, every device, ``torch.compile``
``cpp``                   the C++ step: the whole step as one call per direction
                          (:mod:`~dnc_qa.memory.backends.cpp`); one write head, CPU
``cpp-sequence``          the C++ sequence: a whole model pass as one call per direction
                          (:mod:`~dnc_qa.memory.backends.cpp_sequence`); a one-layer
                          controller besides
``sparse``                sparse links, ``DNCMemory(link="sparse")``
                          (:mod:`~dnc_qa.memory.backends.sparse`)
``numpy``                 the torch-free inference's NumPy step
                          (:mod:`~dnc_qa.memory.backends.numpy_inference`); no gradients
========================  ==================================================================

``DNCMemory(backend=...)`` and the models (``DNC(..., backend=...)``, ``ModelConfig.backend``,
``dncqa train --backend``) take one of these names or ``"auto"``. :func:`choose_backend` says
which one runs and why: with ``"auto"`` the first of :data:`AUTO_ORDER` that can run this
call; with a name, that backend, or a :class:`BackendUnavailable` error naming the reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from dnc_qa.memory import native
from dnc_qa.memory.backends.base import Backend, Call, SequencePass, SequenceResult
from dnc_qa.memory.backends.cpp import CppStep
from dnc_qa.memory.backends.cpp_sequence import CppSequence
from dnc_qa.memory.backends.numpy_inference import NumpyStep
from dnc_qa.memory.backends.pytorch import PyTorchStep
from dnc_qa.memory.backends.sparse import SparseStep

if TYPE_CHECKING:
    from dnc_qa.memory.dnc import DNCMemory

_cpp = CppStep()
BACKENDS: dict[str, Backend] = {
    b.name: b for b in (PyTorchStep(), _cpp, CppSequence(_cpp), SparseStep(), NumpyStep())
}
"""Every backend by name."""

BACKEND_NAMES = ("auto", *BACKENDS)
"""What ``backend=`` accepts."""

AUTO_ORDER = ("cpp-sequence", "cpp", "sparse", "torch")
"""What ``"auto"`` tries, fastest first (``cpp-sequence`` only for a whole model pass). Dense
links always have ``torch`` to fall back on, sparse links ``sparse``; ``numpy`` is never
chosen automatically."""


class BackendUnavailable(ValueError):
    """A backend was asked for by name and cannot run this memory or call."""


class BackendChoice(NamedTuple):
    """Which backend runs (``name``) and why (``reason``)."""

    name: str
    reason: str

    @property
    def backend(self) -> Backend:
        return BACKENDS[self.name]

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


def check_backend_name(name: object) -> str:
    """``name`` if ``backend=`` accepts it, else a ``ValueError`` listing what it accepts."""
    if name not in BACKEND_NAMES:
        raise ValueError(f"backend must be one of {', '.join(BACKEND_NAMES)}; got {name!r}")
    return name  # type: ignore[return-value]


def choose_backend(
    requested: str = "auto", *, memory: DNCMemory, call: Call | None = None
) -> BackendChoice:
    """Which backend computes ``memory``'s step (or whole pass) for ``call``, and why.

    Args:
        requested: ``"auto"`` or a backend's name (:data:`BACKEND_NAMES`).
        memory: the :class:`~dnc_qa.memory.dnc.DNCMemory` (its configuration).
        call: the state and interface of this step, or a whole pass (``call.sequence``);
            ``None``: the configuration alone (what a memory checks when it is built).

    Returns:
        the :class:`BackendChoice`. A backend asked for by name that cannot run raises
        :class:`BackendUnavailable` with the reason.
    """
    if requested != "auto":
        backend = BACKENDS[check_backend_name(requested)]
        if backend.uses_kernels:
            native.kernels()  # asked for by name: build the kernels now if they are not yet
        why_not = backend.supports(memory, call)
        if why_not is not None:
            raise BackendUnavailable(f"backend {requested!r} cannot run here: {why_not}")
        return BackendChoice(requested, f"asked for: {backend.summary}")
    passed_over = []
    for name in AUTO_ORDER:
        if name == "cpp-sequence" and (call is None or call.sequence is None):
            continue
        backend = BACKENDS[name]
        if backend.links != memory.link:
            continue  # (not worth a reason: the other kind of link)
        why_not = backend.supports(memory, call)
        if why_not is None:
            if not passed_over:
                return BackendChoice(name, backend.summary)
            return BackendChoice(name, f"{backend.summary}; {'; '.join(passed_over)}")
        passed_over.append(f"not {name}: {why_not}")
    raise BackendUnavailable(f"no backend runs this memory: {'; '.join(passed_over)}")


__all__ = [
    "AUTO_ORDER",
    "BACKENDS",
    "BACKEND_NAMES",
    "Backend",
    "BackendChoice",
    "BackendUnavailable",
    "Call",
    "SequencePass",
    "SequenceResult",
    "check_backend_name",
    "choose_backend",
]
