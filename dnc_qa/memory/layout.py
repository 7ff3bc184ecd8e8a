"""The DNC's interface layout: the one list of fields every way of computing a step reads.

The controller emits one flat vector per step, ``[B, interface_size]``. Which fields it holds,
in which order, how wide each is and which activation turns it into its range is written
down here once, as :data:`INTERFACE_FIELDS`:

* :class:`~dnc_qa.memory.dnc.DNCMemory` (PyTorch) splits and activates the vector by it
  (``parse_interface``), and its :class:`~dnc_qa.memory.dnc.DNCInterface` has these fields
  in this order;
* the C++ kernels get the offsets, sizes and activations as an argument
  (:func:`kernel_layout`), so they hold no layout of their own;
* the NumPy inference (:mod:`dnc_qa.inference.dnc`) reads it too, which is why this module
  imports neither torch nor NumPy.

Shapes: ``R`` read heads, ``Hw`` write heads, ``W`` cell width; the read modes of a read head
are ``2 Hw + 1`` entries (backward through each write head's links, content, forward
through each write head's links). See ``docs/memory.md``.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

IDENTITY = "identity"
ONEPLUS = "oneplus"  # 1 + softplus(x): strengths, link sharpness, in [1, inf)
SIGMOID = "sigmoid"  # gates, erase vectors, masks, in [0, 1]
SOFTMAX = "softmax"  # over each head's read modes

ACTIVATION_CODES = {IDENTITY: 0, ONEPLUS: 1, SIGMOID: 2, SOFTMAX: 3}
"""How :func:`kernel_layout` names the activations to the C++ kernels."""


class Field(NamedTuple):
    """One field of the interface.

    ``heads``: ``"read"`` (one entry per read head) or ``"write"``; ``width``: ``"one"``,
    ``"cell"`` (``W``) or ``"modes"`` (``2 Hw + 1``); ``option``: the ``DNCMemory`` option
    that adds the field (``None``: always there).
    """

    name: str
    heads: str
    width: str
    activation: str
    option: str | None = None


INTERFACE_FIELDS: tuple[Field, ...] = (
    Field("read_keys", "read", "cell", IDENTITY),
    Field("read_strengths", "read", "one", ONEPLUS),
    Field("write_keys", "write", "cell", IDENTITY),
    Field("write_strengths", "write", "one", ONEPLUS),
    Field("erase_vectors", "write", "cell", SIGMOID),
    Field("write_vectors", "write", "cell", IDENTITY),
    Field("free_gates", "read", "one", SIGMOID),
    Field("allocation_gates", "write", "one", SIGMOID),
    Field("write_gates", "write", "one", SIGMOID),
    Field("read_modes", "read", "modes", SOFTMAX),
    Field("read_masks", "read", "cell", SIGMOID, "masking"),
    Field("write_masks", "write", "cell", SIGMOID, "masking"),
    Field("link_sharpness", "read", "one", ONEPLUS, "link_sharpness"),
)
"""Every interface field in the order of the flat vector (and of ``DNCInterface``)."""

STATE_FIELDS = ("memory", "usage", "link", "precedence", "read_weights", "write_weights")
"""The fields of the recurrent state, in order (``DNCState``)."""


class Slot(NamedTuple):
    """A field placed in the flat vector: ``flat[:, offset : offset + size]``, reshaped to
    ``[B, *shape]`` and passed through ``activation``."""

    name: str
    offset: int
    size: int
    shape: tuple[int, ...]
    activation: str


class InterfaceLayout(NamedTuple):
    """The slots of one memory configuration, in order, and the vector's length."""

    slots: tuple[Slot, ...]
    size: int

    def slot(self, name: str) -> Slot | None:
        """The slot of field ``name``, or ``None`` when this configuration has no such field."""
        for s in self.slots:
            if s.name == name:
                return s
        return None


@functools.cache
def interface_layout(
    num_reads: int,
    cell_width: int,
    num_writes: int = 1,
    masking: bool = False,
    link_sharpness: bool = False,
) -> InterfaceLayout:
    """The layout for ``R = num_reads``, ``W = cell_width``, ``Hw = num_writes`` and the
    options. ``W*R + 3*W + 5*R + 3`` entries for one write head and no option (the paper)."""
    options = {"masking": masking, "link_sharpness": link_sharpness}
    heads = {"read": num_reads, "write": num_writes}
    widths = {"one": None, "cell": cell_width, "modes": 2 * num_writes + 1}
    slots, offset = [], 0
    for f in INTERFACE_FIELDS:
        if f.option is not None and not options[f.option]:
            continue
        width = widths[f.width]
        shape = (heads[f.heads],) if width is None else (heads[f.heads], width)
        size = shape[0] * (width or 1)
        slots.append(Slot(f.name, offset, size, shape, f.activation))
        offset += size
    return InterfaceLayout(tuple(slots), offset)


def kernel_layout(layout: InterfaceLayout, names: tuple[str, ...]) -> list[int]:
    """The layout as the C++ kernels take it: for each field of ``names`` (their interface
    inputs, in their order) ``offset, size, activation code, group`` (``group``: the length
    a softmax runs over, the last dimension of the field), ``size`` 0 for a field this
    configuration lacks; then the vector's total length."""
    out: list[int] = []
    for name in names:
        s = layout.slot(name)
        if s is None:
            out += [0, 0, ACTIVATION_CODES[IDENTITY], 1]
        else:
            group = s.shape[-1] if len(s.shape) > 1 else 1
            out += [s.offset, s.size, ACTIVATION_CODES[s.activation], group]
    return out + [layout.size]
