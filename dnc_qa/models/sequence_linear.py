"""Linear layers applied at every timestep of a sequence, with deferred weight gradients.

A recurrent model applies the same layer ``y_t = add_t + x_t W^T + b`` at each of ``T``
steps. Plain autograd computes ``dL/dW`` once per step as a skinny product with ``K = B``
(``g_t^T x_t``, e.g. ``[4H x B] @ [B x (R W + H)]``) and accumulates the ``T`` results with
``add_``. Here each step's backward computes only the gradients of its inputs and files
``(x_t, g_t)``; the weight gradient is then one product with ``K = T B``::

    dL/dW = cat(g_t)^T @ cat(x_t)        dL/db = cat(g_t).sum(0)

which is the same sum, computed at once (equal up to rounding).

How (one :class:`SequenceLinear` per layer and sequence)::

    W, b  --[_SequenceWeights]-->  W', b'  (aliases)  --+--> step 0  [_StepLinear]
                                                       +--> step 1
                                                       +--> ...

Every step uses the aliases ``W', b'``, so each step's node has an edge to the one
``_SequenceWeights`` node (the "weights node"). Step nodes return no gradient for ``W', b'``
and instead file ``(x_t, g_t)`` with the layer's :class:`_Collector`; the weights node's
backward turns everything filed into the weight and bias gradients.

Why this is correct:

* **Ordering.** The autograd engine runs a node only once every node that passes it a
  gradient in the current backward pass has run (its dependency count, over the nodes
  reachable from the roots). The weights node is fed by every step's node, so it runs after
  all of them, whatever order they run in. No assumption on the order of the steps is made
  (the filed steps are sorted by ``t`` so that the sum is deterministic).
* **Steps whose outputs do not reach the loss** are not reachable from the roots: they
  neither run nor count among the weights node's dependencies, and contribute nothing, as
  in the plain path. A step that runs but receives no gradient (``None``) files nothing.
* **Several backward passes over one graph** (``retain_graph=True``, ``autograd.grad``
  with ``inputs=``): steps file under the pass's graph-task id and the weights node takes
  only its own pass's entries. A step files nothing when the engine will not run the weights
  node in this pass (e.g. ``torch.autograd.grad(loss, x)``), so nothing piles up.
* **Double backward** (``create_graph=True``) is not supported: both backward functions
  raise a ``RuntimeError`` saying so (switch the deferral off, see
  :attr:`dnc_qa.models.memory_net.MemoryNet.deferred_weight_grads`).
* **No graph** (``torch.no_grad``, inference mode, or weights that do not require grad):
  :class:`SequenceLinear` computes the plain product and creates no node and no collector.
  Callers should also use the plain path under autocast, ``torch.compile`` tracing and
  ``torch.func`` transforms (:func:`deferral_possible`).
* **No reference cycles.** The collector (held by the nodes' contexts) only ever holds
  detached tensors, so the graph never points back to itself through Python objects that
  the garbage collector cannot see (cf. :class:`dnc_qa.memory.link_function.LinkTape`).
"""

from __future__ import annotations

import torch
from torch import Tensor

_DOUBLE_BACKWARD = (
    "deferred weight gradients (dnc_qa.models.sequence_linear) do not support double "
    "backward (create_graph=True); set `model.deferred_weight_grads = False` (and, for a "
    "DNC, build it with backend='torch') to use the plain per-step path"
)


def deferral_possible(x: Tensor) -> bool:
    """Whether deferred weight gradients may be used for a forward pass over ``x``.

    ``False`` without grad mode (``torch.no_grad``, inference mode), under autocast on
    ``x``'s device (the plain ops' casting rules apply there), while ``torch.compile`` traces
    (the collector is a Python side effect of the backward pass) and under ``torch.func``
    transforms (they need functorch-aware autograd Functions).
    """
    return (
        torch.is_grad_enabled()
        and not torch.is_autocast_enabled(x.device.type)
        and not torch.compiler.is_compiling()
        and not torch._C._are_functorch_transforms_active()
    )


def affine(x: Tensor, weight: Tensor, bias: Tensor | None, add: Tensor | None) -> Tensor:
    """``add + x @ weight^T + bias`` in one ``addmm`` (what ``F.linear`` computes).

    Args:
        x: ``[B, in]``.
        weight: ``[out, in]``.
        bias: ``[out]`` or ``None``.
        add: ``[B, out]`` (or broadcastable to it) or ``None``.

    Returns:
        ``[B, out]``.
    """
    base = add if bias is None else (bias if add is None else add + bias)
    if base is None:
        return x.mm(weight.t())
    return torch.addmm(base, x, weight.t())


class _Collector:
    """The ``(t, x_t, g_t)`` filed by one layer's steps, keyed by backward pass.

    Holds detached tensors only (see the module docstring: no reference cycles).
    """

    def __init__(self) -> None:
        self._passes: dict[int, list[tuple[int, Tensor, Tensor]]] = {}

    def file(self, t: int, x: Tensor, grad: Tensor) -> None:
        """Note step ``t``'s input ``x [B, in]`` and output gradient ``grad [B, out]``."""
        task = torch._C._current_graph_task_id()
        self._passes.setdefault(task, []).append((t, x.detach(), grad.detach()))

    def take(self) -> tuple[Tensor, Tensor] | None:
        """Remove this backward pass's steps: ``(X [n B, in], G [n B, out])`` in step order,
        or ``None`` when no step filed anything."""
        steps = self._passes.pop(torch._C._current_graph_task_id(), None)
        if not steps:
            return None
        steps.sort(key=lambda step: step[0])
        return torch.cat([s[1] for s in steps]), torch.cat([s[2] for s in steps])


def _plus(a: Tensor | None, b: Tensor) -> Tensor:
    return b if a is None else a + b


class _SequenceWeights(torch.autograd.Function):
    """``(W', b') = (W, b)`` as aliases; the backward turns the filed steps into
    ``dL/dW`` and ``dL/db`` (plus any gradient reaching ``W', b'`` directly)."""

    @staticmethod
    def forward(ctx, collector: _Collector, weight: Tensor, bias: Tensor | None):
        ctx.collector = collector
        ctx.set_materialize_grads(False)
        return weight.view_as(weight), None if bias is None else bias.view_as(bias)

    @staticmethod
    def backward(ctx, grad_weight: Tensor | None, grad_bias: Tensor | None):
        if torch.is_grad_enabled():
            raise RuntimeError(_DOUBLE_BACKWARD)
        filed = ctx.collector.take()
        if filed is not None:
            xs, gs = filed
            if ctx.needs_input_grad[1]:
                grad_weight = _plus(grad_weight, gs.t().mm(xs))
            if ctx.needs_input_grad[2]:
                grad_bias = _plus(grad_bias, gs.sum(0))
        return (
            None,
            grad_weight if ctx.needs_input_grad[1] else None,
            grad_bias if ctx.needs_input_grad[2] else None,
        )


class _StepLinear(torch.autograd.Function):
    """One step, ``affine(x, W', b', add)``; the backward returns the gradients of ``x``
    and ``add`` and files ``(x, g)`` instead of returning those of ``W'`` and ``b'``."""

    @staticmethod
    def forward(ctx, x, weight, bias, add, collector: _Collector, weights_node, t: int):
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(x, weight)
        ctx.collector, ctx.weights_node, ctx.t = collector, weights_node, t
        ctx.add_shape = None if add is None else add.shape
        return affine(x, weight, bias, add)

    @staticmethod
    def backward(ctx, grad: Tensor | None):
        if torch.is_grad_enabled():
            raise RuntimeError(_DOUBLE_BACKWARD)
        if grad is None:
            return None, None, None, None, None, None, None
        x, weight = ctx.saved_tensors
        grad_x = grad.mm(weight) if ctx.needs_input_grad[0] else None
        grad_add = grad.sum_to_size(ctx.add_shape) if ctx.needs_input_grad[3] else None
        if torch._C._will_engine_execute_node(ctx.weights_node):
            ctx.collector.file(ctx.t, x, grad)
        return grad_x, None, None, grad_add, None, None, None


class SequenceLinear:
    """A linear layer's weights for the steps of one sequence, weight gradients deferred.

    Create one per layer at the start of a sequence and call it once per step; the weight
    (and bias) gradient of all steps is computed by one matrix product in the backward pass
    (see the module docstring). Values and gradients equal ``F.linear`` per step up to
    rounding. Without grad mode, or when neither weight nor bias requires grad, it computes
    the plain product and records nothing.

    Args:
        weight: ``[out, in]``.
        bias: ``[out]`` or ``None``.
    """

    def __init__(self, weight: Tensor, bias: Tensor | None = None) -> None:
        self.weight, self.bias = weight, bias
        self._collector: _Collector | None = None
        self._weights_node = None
        self._steps = 0
        wants_grad = weight.requires_grad or (bias is not None and bias.requires_grad)
        if torch.is_grad_enabled() and wants_grad:
            self._collector = _Collector()
            self.weight, self.bias = _SequenceWeights.apply(self._collector, weight, bias)
            self._weights_node = self.weight.grad_fn

    @property
    def deferred(self) -> bool:
        """Whether the weight gradients are deferred (``False``: the plain product)."""
        return self._collector is not None

    def __call__(self, x: Tensor, add: Tensor | None = None) -> Tensor:
        """``add + x W^T + b``: ``x [B, in]``, ``add [B, out]`` or ``None`` -> ``[B, out]``."""
        if self._collector is None:
            return affine(x, self.weight, self.bias, add)
        t = self._steps
        self._steps += 1
        return _StepLinear.apply(
            x, self.weight, self.bias, add, self._collector, self._weights_node, t
        )
