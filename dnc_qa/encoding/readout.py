"""Reading the 90 outputs as 9 ten-way softmaxes: the loss, predictions and constrained choice.

Loss (Methods): ``L = -sum_t A(t) sum_{d=1..9} log p_t(d = target digit)`` with ``A(t)`` the
answer mask.  :func:`masked_digit_nll` returns it summed over answer steps and digit groups and
divided by the number of answer steps (``reduction="mean"``) or summed (``"sum"``).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from dnc_qa.encoding.labels import digit_targets, digit_view


def digit_log_probs(logits: Tensor) -> Tensor:
    """``[..., 90] -> [..., 9, 10]`` log-softmax per digit group."""
    return torch.log_softmax(digit_view(logits), dim=-1)


def masked_digit_nll(
    logits: Tensor, targets: Tensor, mask: Tensor, reduction: Literal["mean", "sum"] = "mean"
) -> Tensor:
    """The paper's loss for ``logits``/``targets [B, T, 90]`` and answer ``mask [B, T]``.
    On the CPU only the steps whose mask is not zero are computed (the others would add
    zeros; an episode of a hundred steps has a handful of answers); on a GPU every step is,
    which needs no host synchronisation (and so can be captured in a CUDA graph)."""
    if logits.device.type == "cpu":
        keep = mask != 0
        logits, targets, mask = logits[keep], targets[keep], mask[keep]
    logp = digit_log_probs(logits)  # [..., 9, 10]
    picked = logp.gather(-1, digit_targets(targets).unsqueeze(-1)).squeeze(-1)  # [..., 9]
    weighted = picked.sum(-1) * mask.to(picked.dtype)
    total = -torch.where(mask != 0, weighted, 0.0).sum()  # an unscored step adds 0, even NaN
    if reduction == "sum":
        return total
    return total / mask.sum().clamp_min(1).to(picked.dtype)


def candidate_scores(logits: Tensor, candidates: Tensor) -> Tensor:
    """Log-probabilities of ``candidates [K, 90]`` (one-hot triples) under ``logits [90]``,
    renormalised over the K candidates (shortest path: the current node's outgoing triples).

    Returns ``[K]`` log-probabilities that sum (in probability) to one.
    """
    logp = digit_log_probs(logits)  # [9, 10]
    scores = (digit_view(candidates) * logp).sum((-1, -2))  # [K]
    return torch.log_softmax(scores, dim=0)
