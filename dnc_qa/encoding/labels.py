"""The paper's label encoding (Graves et al. 2016, Methods, "Graph tasks").

A label ``0..999`` is written as 3 decimal digits, most significant first, each a 10-way
one-hot: 30 elements.  A blank label ``_`` is all zeros.  A triple ``(source, edge, target)``
is three labels side by side: 90 elements.  The network input adds two binary channels,

* :data:`PHASE_CHANNEL` (index 90): 1 on the first step of every phase after the first
  (query, planning and answer phases; the description starts the episode unflagged);
* :data:`ANSWER_CHANNEL` (index 91): 1 on every step of an answer phase ("answer required"),

so inputs are :data:`INPUT_SIZE` = 92 wide; outputs are :data:`OUTPUT_SIZE` = 90 logits read as
9 ten-way softmaxes, decoded by taking the mode (arg-max) of each digit group.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from dnc_qa.errors import DncQaError

DIGITS = 3
DIGIT_SIZE = 10
LABEL_SIZE = DIGITS * DIGIT_SIZE  # 30
TRIPLE_LABELS = 3
TRIPLE_SIZE = TRIPLE_LABELS * LABEL_SIZE  # 90
PHASE_CHANNEL = TRIPLE_SIZE  # 90
ANSWER_CHANNEL = TRIPLE_SIZE + 1  # 91
INPUT_SIZE = TRIPLE_SIZE + 2  # 92
OUTPUT_SIZE = TRIPLE_SIZE  # 90
NUM_DIGIT_GROUPS = TRIPLE_LABELS * DIGITS  # 9
MAX_LABEL = DIGIT_SIZE**DIGITS - 1  # 999

Label = int | None


class LabelTriple(NamedTuple):
    """A triple of integer labels; ``None`` is the blank ``_``."""

    source: Label
    edge: Label
    target: Label


def label_digits(label: int) -> tuple[int, int, int]:
    """``417 -> (4, 1, 7)``; labels outside ``0..999`` are an error."""
    if not isinstance(label, int) or isinstance(label, bool) or not 0 <= label <= MAX_LABEL:
        raise DncQaError(f"label must be an int in 0..{MAX_LABEL}, not {label!r}")
    return (label // 100, (label // 10) % 10, label % 10)


def encode_label(label: Label) -> Tensor:
    """``FloatTensor [30]``: three 10-way one-hots; ``None`` (blank) is all zeros."""
    out = torch.zeros(LABEL_SIZE)
    if label is not None:
        for i, d in enumerate(label_digits(label)):
            out[i * DIGIT_SIZE + d] = 1.0
    return out


def encode_triple(source: Label, edge: Label, target: Label) -> Tensor:
    """``FloatTensor [90]``: the three labels' encodings concatenated (source, edge, target)."""
    return torch.cat([encode_label(source), encode_label(edge), encode_label(target)])


def encode_triples(labels: list[tuple[Label, Label, Label]]) -> Tensor:
    """``FloatTensor [T, 90]``: :func:`encode_triple` of each row, in one vectorised pass
    (in numpy: an episode's few rows cost microseconds, not a dozen tensor ops)."""
    flat = [-1 if v is None else v for row in labels for v in row]
    if flat and (set(map(type, flat)) != {int} or min(flat) < -1 or max(flat) > MAX_LABEL):
        for v in flat:  # the same checks (and errors) as one triple at a time
            if v != -1 and (type(v) is not int or not 0 <= v <= MAX_LABEL):
                label_digits(v)  # raises unless an int subclass in range
    values = np.array(flat, dtype=np.int64).reshape(len(labels), TRIPLE_LABELS)
    digits = np.stack([values // 100, (values // 10) % 10, values % 10], axis=-1)  # [T, 3, 3]
    columns = (_GROUP_OFFSETS + digits.clip(min=0)).reshape(len(labels), NUM_DIGIT_GROUPS)
    hot = np.repeat(values >= 0, DIGITS, axis=1)  # a blank's three groups stay all zero
    out = np.zeros((len(labels), TRIPLE_SIZE), dtype=np.float32)
    np.put_along_axis(out, columns, hot.astype(np.float32), axis=1)
    return torch.from_numpy(out)


_GROUP_OFFSETS = np.arange(NUM_DIGIT_GROUPS).reshape(TRIPLE_LABELS, DIGITS) * DIGIT_SIZE


def digit_view(x: Tensor) -> Tensor:
    """``[..., 90] -> [..., 9, 10]``: the nine digit groups."""
    if x.shape[-1] != TRIPLE_SIZE:
        raise DncQaError(f"expected a last dimension of {TRIPLE_SIZE}, got {tuple(x.shape)}")
    return x.reshape(*x.shape[:-1], NUM_DIGIT_GROUPS, DIGIT_SIZE)


def decode_labels(x: Tensor, blank: bool = True) -> Tensor:
    """``[..., 90] -> LongTensor [..., 3]``: the mode of each digit group, read as labels.

    With ``blank=True`` a label whose three groups are all exactly zero (the blank encoding)
    decodes to ``-1``; logits are never all zero, so they always decode to a label.
    """
    groups = digit_view(x)
    digits = groups.argmax(-1)  # [..., 9]
    weights = torch.tensor([100, 10, 1], device=x.device)
    labels = (digits.reshape(*digits.shape[:-1], TRIPLE_LABELS, DIGITS) * weights).sum(-1)
    if blank:
        empty = (groups.reshape(*groups.shape[:-2], TRIPLE_LABELS, LABEL_SIZE) == 0).all(-1)
        labels = labels.masked_fill(empty, -1)
    return labels


def decode_triple(x: Tensor) -> LabelTriple:
    """One ``[90]`` one-hot or logit vector -> :class:`LabelTriple` (blank -> ``None``)."""
    if x.dim() != 1:
        raise DncQaError(f"decode_triple takes one [90] vector; use decode_labels for {x.shape}")
    a, b, c = (int(v) for v in decode_labels(x))
    return LabelTriple(*(None if v < 0 else v for v in (a, b, c)))


def digit_targets(targets: Tensor) -> Tensor:
    """One-hot targets ``[..., 90]`` -> class indices ``LongTensor [..., 9]`` (for NLL)."""
    return digit_view(targets).argmax(-1)
