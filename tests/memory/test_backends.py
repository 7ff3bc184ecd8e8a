"""Every memory backend this machine has, against the float64 spec and against each other.

Each backend (``dnc_qa.memory.backends``: torch, cpp, cpp-sequence, sparse, numpy) computes the
step of docs/memory.md; here each one that can run a configuration is held, in float64,

* to the naive transcription of the equations (``spec_reference.py``), one step, every field;
* to the PyTorch step over a sequence through one link tape: every value, and the gradients
  of a random loss with respect to every step's interface and every initial state field
  (the NumPy step has no gradients: values only);
* at the model level (``DNC``), the C++ sequence and the per-step backends to each other:
  outputs, final state, every parameter's and initial state field's gradient;
* to the invariants over a long sequence;

over a few configurations (masking, de-allocation, link sharpness, one to seven read heads,
several write heads, a batch of 3). Sparse links run with ``link_k >= N``, where they equal
dense links.
Then ``choose_backend``'s reasons: which backend runs, and why not the others.
"""

from __future__ import annotations

import pytest
import torch
from memory_helpers import random_dnc_interface, warmed_dnc_state
from spec_reference import dnc_reference_step

from dnc_qa.memory import native
from dnc_qa.memory import sparse_link as S
from dnc_qa.memory.backends import (
    AUTO_ORDER,
    BACKEND_NAMES,
    BACKENDS,
    BackendUnavailable,
    Call,
    choose_backend,
)
from dnc_qa.memory.dnc import DNCMemory, DNCState
from dnc_qa.models import DNC, NTM
from dnc_qa.models.controller import LSTMState
from dnc_qa.models.memory_net import MemoryNetState

f64 = torch.float64
B = 3
N = 7

CONFIGS = {
    "plain": {"num_reads": 3},
    "one-read": {"num_reads": 1},
    "masking": {"num_reads": 2, "masking": True},
    "deallocation": {"num_reads": 2, "deallocation": True},
    "masking+deallocation": {"num_reads": 3, "masking": True, "deallocation": True},
    "sharpness": {"num_reads": 2, "link_sharpness": True},
    "two-writes": {"num_reads": 2, "num_writes": 2},
    # the link's row pass takes three read heads at a time: more heads take a second pass
    "four-reads": {"num_reads": 4},
    "seven-reads-masking+deallocation": {"num_reads": 7, "masking": True, "deallocation": True},
    "two-writes-four-reads": {"num_reads": 4, "num_writes": 2},
    "three-writes-all-options": {
        "num_reads": 2, "num_writes": 3, "masking": True, "deallocation": True,
        "link_sharpness": True,
    },
}
STEP_BACKENDS = ["torch", "cpp", "cpp-sequence", "sparse", "numpy"]


def _memory(config: str, backend: str) -> DNCMemory:
    """The memory of ``config`` computed by ``backend`` (sparse: ``link_k = N``, which equals
    dense links); skips when this machine or configuration cannot run it."""
    options = {"num_cells": N, "cell_width": 4, **CONFIGS[config]}
    if backend == "sparse":
        options |= {"link": "sparse", "link_k": N}
    try:
        return DNCMemory(**options, backend=backend)
    except BackendUnavailable as exc:
        pytest.skip(str(exc))


def _dense(config: str) -> DNCMemory:
    return DNCMemory(num_cells=N, cell_width=4, **CONFIGS[config], backend="torch")


def to_backend_state(mem: DNCMemory, state: DNCState) -> DNCState:
    """A dense state as ``mem`` keeps it: for sparse links (``link_k >= N``) row ``a`` holds
    columns ``0..N-1`` in its first ``N`` slots (the diagonal's value is 0), the rest empty."""
    if mem.link != "sparse":
        return state
    K = mem.link_k
    Bs, H, n, _ = state.link.shape
    values = torch.cat([state.link, state.link.new_zeros(Bs, H, n, K - n)], -1)
    columns = torch.arange(n).expand(Bs, H, n, n)
    empty = torch.arange(n).view(1, 1, n, 1).expand(Bs, H, n, K - n)
    return state._replace(link=S.pack(values, torch.cat([columns, empty], -1)))


def to_dense(mem: DNCMemory, state: DNCState) -> DNCState:
    return state._replace(link=S.densify(state.link)) if mem.link == "sparse" else state


def _assert_close(got, want, what: str, rtol=1e-10, atol=1e-12) -> None:
    torch.testing.assert_close(got, want, rtol=rtol, atol=atol, msg=what)


# --------------------------------------------------------------------------- the spec


@pytest.mark.parametrize("config", sorted(CONFIGS))
@pytest.mark.parametrize("backend", STEP_BACKENDS)
@pytest.mark.parametrize("flat", [False, True], ids=["interface", "flat"])
def test_one_step_equals_the_spec_reference(backend, config, flat):
    """From a warmed state (links, usage, reads all non-trivial), one step through
    ``forward`` (the activated interface) or ``step_flat`` (the controller's raw output)."""
    mem = _memory(config, backend)
    dense = _dense(config)
    state = warmed_dnc_state(dense, batch=B, steps=5, seed=1)
    raw = torch.randn(B, mem.interface_size, generator=torch.Generator().manual_seed(7),
                      dtype=f64) * 2
    interface = mem.parse_interface(raw)
    with torch.no_grad():  # (the NumPy step takes no gradients; the others do not need them)
        if flat:
            reads, new = mem.step_flat(raw, to_backend_state(mem, state))
        else:
            reads, new = mem(interface, to_backend_state(mem, state))
    want_reads, want = dnc_reference_step(interface._asdict(), state._asdict(),
                                          deallocation=mem.deallocation)
    _assert_close(reads, want_reads, "reads")
    for name, value in to_dense(mem, new)._asdict().items():
        _assert_close(value, want[name], name)


# --------------------------------------------------------------------------- each other


def _sequence(mem: DNCMemory, steps: int, seed: int = 0):
    """``steps`` steps through one tape from a warmed state, half of them through
    ``step_flat``: every step's reads and the final state (densified), and the gradients of
    a random linear loss of them with respect to every raw interface and every initial state
    field (``None`` for the NumPy step, which has none)."""
    gen = torch.Generator().manual_seed(seed)
    dense_start = warmed_dnc_state(_dense_config_of(mem), batch=B, steps=4, seed=seed)
    grads = mem.backend != "numpy"
    start = DNCState(*(t.detach().clone().requires_grad_(grads)
                       for t in to_backend_state(mem, dense_start)))
    flats = [(torch.randn(B, mem.interface_size, generator=gen, dtype=f64) * 2)
             .requires_grad_(grads) for _ in range(steps)]
    tape = mem.begin_sequence(steps)
    state, outputs = start, []
    with torch.set_grad_enabled(grads):
        for t, flat in enumerate(flats):
            if t % 2:
                reads, state = mem.step_flat(flat, state, tape=tape)
            else:
                reads, state = mem(mem.parse_interface(flat), state, tape=tape)
            outputs.append(reads)
        outputs += list(to_dense(mem, state))
    weights = [torch.randn(o.shape, generator=gen, dtype=f64) for o in outputs]
    values = [o.detach() for o in outputs]
    if not grads:
        return values, None
    loss = sum((o * w).sum() for o, w in zip(outputs, weights, strict=True))
    leaves = flats + list(start)
    got = list(torch.autograd.grad(loss, leaves))
    if mem.link == "sparse":  # the packed link's gradient, as a dense one (slots = columns)
        got[len(flats) + 2] = S.densify(torch.cat([got[len(flats) + 2][..., : mem.link_k],
                                                   start.link[..., mem.link_k :]], -1))
    return values, got


def _dense_config_of(mem: DNCMemory) -> DNCMemory:
    return DNCMemory(mem.num_cells, mem.cell_width, mem.num_reads, mem.num_writes,
                     mem.masking, mem.deallocation, mem.link_sharpness, backend="torch")


@pytest.mark.parametrize("config", sorted(CONFIGS))
@pytest.mark.parametrize("backend", ["cpp", "cpp-sequence", "sparse", "numpy"])
def test_sequences_and_gradients_equal_the_pytorch_step(backend, config):
    """Seven steps through one tape (links recomputed from checkpoints every 3 steps)."""
    mem = _memory(config, backend)
    values, grads = _sequence(mem, steps=7)
    want_values, want_grads = _sequence(_memory(config, "torch"), steps=7)
    for i, (got, want) in enumerate(zip(values, want_values, strict=True)):
        _assert_close(got, want, f"value {i}")
    if grads is not None:
        for i, (got, want) in enumerate(zip(grads, want_grads, strict=True)):
            _assert_close(got, want, f"gradient {i}", rtol=1e-9, atol=1e-11)


def test_the_pytorch_step_equals_itself_with_the_link_loops_in_pytorch(monkeypatch):
    """The PyTorch step's link node runs C++ row loops on the CPU where they are built: the
    same values and gradients as its PyTorch operations."""
    from dnc_qa.memory import link_function as LF

    if native.kernels() is None:
        pytest.skip("native kernels unavailable")
    mem = _memory("two-writes", "torch")
    values, grads = _sequence(mem, steps=7)
    monkeypatch.setattr(LF, "_native_for", lambda t: None)
    want_values, want_grads = _sequence(mem, steps=7)
    for got, want in zip(values + grads, want_values + want_grads, strict=True):
        _assert_close(got, want, "link loops")


@pytest.mark.parametrize("backend", STEP_BACKENDS)
@pytest.mark.parametrize("config", ["plain", "masking+deallocation"])
def test_float32_step_is_close_to_the_float64_spec(backend, config):
    """One float32 step (values; gradients against the float32 PyTorch step)."""
    mem = _memory(config, backend)
    state = warmed_dnc_state(_dense(config), batch=B, steps=5, seed=2)
    flat = torch.randn(B, mem.interface_size, generator=torch.Generator().manual_seed(3),
                       dtype=f64)
    interface = mem.parse_interface(flat)
    want_reads, want = dnc_reference_step(interface._asdict(), state._asdict(),
                                          deallocation=mem.deallocation)
    start = DNCState(*(t.float() for t in to_backend_state(mem, state)))
    with torch.no_grad():
        reads, new = mem.step_flat(flat.float(), start)
    assert reads.dtype == torch.float32
    _assert_close(reads.double(), want_reads, "reads", rtol=1e-4, atol=1e-5)
    for name, value in to_dense(mem, new)._asdict().items():
        _assert_close(value.double(), want[name], name, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("backend", STEP_BACKENDS)
@pytest.mark.parametrize("config", ["plain", "two-writes"])
def test_invariants_hold_over_a_long_sequence(backend, config):
    mem = _memory(config, backend)
    gen = torch.Generator().manual_seed(3)
    state = mem.initial_state(4, dtype=f64)
    tol = 1e-9
    with torch.no_grad():
        for _ in range(30):
            _, state = mem(random_dnc_interface(mem, 4, gen), state)
            dense = to_dense(mem, state)
            for w in (dense.read_weights, dense.write_weights, dense.precedence, dense.usage):
                assert w.min() >= -tol and w.max() <= 1 + tol
            for w in (dense.read_weights, dense.write_weights, dense.precedence):
                assert (w.sum(-1) <= 1 + tol).all()
            link = dense.link
            assert link.diagonal(dim1=-2, dim2=-1).abs().max() == 0
            assert link.min() >= -tol and (link.sum(-1) <= 1 + tol).all()
            assert (link.sum(-2) <= 1 + tol).all()


# --------------------------------------------------------------------------- whole models

MODEL_CASES = {
    "lstm": {},
    "lstm-masking-deallocation-clip": {"masking": True, "deallocation": True, "clip": 0.05},
    "lstm-no-clip-one-read": {"clip": None, "num_reads": 1},
    "feedforward": {"controller": "feedforward"},
    "feedforward-masking-clip": {"controller": "feedforward", "masking": True, "clip": 0.3},
}
MODEL_BACKENDS = ["cpp-sequence", "cpp", "torch", "sparse", "numpy"]


def _model(case: str, backend: str) -> DNC:
    options = {"hidden_size": 6, "num_cells": N, "cell_width": 3, "num_reads": 2,
               **MODEL_CASES[case]}
    if backend == "sparse":
        options |= {"link": "sparse", "link_k": N}
    torch.manual_seed(0)
    try:
        return DNC(5, 4, **options, backend=backend).to(f64)
    except BackendUnavailable as exc:
        pytest.skip(str(exc))


def _model_state(model: DNC, case: str, seed: int) -> MemoryNetState:
    """The state after a random warm-up sequence (run densely, by the PyTorch step), as
    leaves needing gradients."""
    gen = torch.Generator().manual_seed(seed)
    dense = _model(case, "torch")
    dense.load_state_dict(model.state_dict())
    with torch.no_grad():
        _, state = dense(torch.randn(B, 4, 5, generator=gen, dtype=f64))
    needs = model.memory.backend != "numpy"

    def leaf(t):
        return t.detach().clone().requires_grad_(needs)

    controller = tuple(LSTMState(leaf(h), leaf(c)) for h, c in state.controller)
    memory = DNCState(*map(leaf, to_backend_state(model.memory, state.memory)))
    return MemoryNetState(controller, memory, leaf(state.read_vectors))


def _leaves(state: MemoryNetState) -> list[torch.Tensor]:
    return [*(t for layer in state.controller for t in layer), state.read_vectors, *state.memory]


def _model_run(model: DNC, case: str, steps: int):
    """Outputs, final state (densified) and the gradients of a random linear loss of them with
    respect to every parameter and initial state field (no gradients for numpy)."""
    start = _model_state(model, case, seed=2)
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(B, steps, 5, generator=gen, dtype=f64)
    grads = model.memory.backend != "numpy"
    with torch.set_grad_enabled(grads):
        assert model.backend_for(x, start).name == model.memory.backend
        y, state = model(x, start)
        ends = [y, *_leaves(state._replace(memory=to_dense(model.memory, state.memory)))]
    if not grads:
        return [t.detach() for t in ends], None
    loss = sum((t * torch.randn(t.shape, generator=gen, dtype=f64)).sum() for t in ends)
    leaves = _leaves(start)
    got = torch.autograd.grad(loss, [*model.parameters(), *leaves], allow_unused=True)
    got = [torch.zeros_like(p) if g is None else g
           for g, p in zip(got, [*model.parameters(), *leaves], strict=True)]
    if model.memory.link == "sparse":
        k = model.memory.link_k
        i = len(list(model.parameters())) + len(leaves) - 4
        got[i] = S.densify(torch.cat([got[i][..., :k], start.memory.link[..., k:]], -1))
    return [t.detach() for t in ends], got


@pytest.mark.parametrize("case", sorted(MODEL_CASES))
@pytest.mark.parametrize("backend", ["cpp-sequence", "cpp", "sparse", "numpy"])
@pytest.mark.parametrize("steps", [1, 10])
def test_model_passes_equal_the_pytorch_step(backend, case, steps):
    """A whole DNC pass (T = 1; T = 10: link checkpoints every 4 steps, a last segment of 2):
    outputs, final state and every gradient equal the PyTorch step's at 1e-10 in float64."""
    values, grads = _model_run(_model(case, backend), case, steps)
    want_values, want_grads = _model_run(_model(case, "torch"), case, steps)
    for i, (got, want) in enumerate(zip(values, want_values, strict=True)):
        _assert_close(got, want, f"value {i}")
    if grads is not None:
        for i, (got, want) in enumerate(zip(grads, want_grads, strict=True)):
            _assert_close(got, want, f"gradient {i}", rtol=1e-9, atol=1e-10)


def test_a_sequence_longer_than_a_step_buffer_block_equals_the_step():
    """The C++ sequence keeps its steps' buffers in blocks of a few MB (here 512 cells of
    width 64 in float64: blocks of 16 steps, the last one shorter) and, without a backward pass,
    in two slots the steps alternate between: values and gradients equal the per-step C++
    backend's, and a no-grad pass gives the same values. (Against the per-step kernels, not
    the PyTorch step: with hundreds of cells, usages that differ only by rounding can sort
    differently for the allocation, which moves what is written between cells; see below.)"""
    _kernels_or_skip()

    def model(backend: str) -> DNC:
        torch.manual_seed(0)
        return DNC(5, 4, hidden_size=6, num_cells=512, cell_width=64, num_reads=2,
                   controller="feedforward", masking=True, backend=backend).to(f64)

    # one row, from a memory whose cells' usages are spread over [0, 1]: from a fresh memory
    # most cells stay nearly unused, and a last bit of rounding (the sequence's own small
    # matrix products against the per-step backend's torch.nn.Linear) can flip which of two
    # of them the allocation picks
    x = torch.randn(1, 40, 5, generator=torch.Generator().manual_seed(4), dtype=f64)
    usage = torch.rand(1, 512, generator=torch.Generator().manual_seed(5), dtype=f64)
    runs = {}
    for backend in ("cpp-sequence", "cpp"):
        m = model(backend)
        assert m.backend_for(x, None).name == backend
        state0 = m.initial_state(1, dtype=f64)
        state0 = state0._replace(memory=state0.memory._replace(usage=usage))
        y, state = m(x, state0)
        loss = (y * torch.linspace(-1, 1, y.numel(), dtype=f64).view_as(y)).sum()
        loss = loss + state.memory.link.sum() + state.memory.memory.square().sum()
        grads = torch.autograd.grad(loss, list(m.parameters()))
        with torch.no_grad():
            y_ng, state_ng = m(x, state0)
        runs[backend] = [y.detach(), *(t.detach() for t in state.memory), *grads, y_ng,
                         *state_ng.memory]
    for i, (got, want) in enumerate(zip(runs["cpp-sequence"], runs["cpp"], strict=True)):
        _assert_close(got, want, f"tensor {i}", rtol=1e-9, atol=1e-10)


# --------------------------------------------------------------------------- choose_backend


def _reference_model(**kw) -> DNC:
    torch.manual_seed(0)
    options = {"hidden_size": 6, "num_cells": N, "cell_width": 3, "num_reads": 2} | kw
    return DNC(5, 4, **options).to(f64)


X = torch.randn(2, 3, 5, dtype=f64)


def _kernels_or_skip() -> None:
    if native.kernels() is None:
        pytest.skip("native kernels unavailable")


def test_the_names_and_the_auto_order():
    assert set(BACKEND_NAMES) == {"auto", *BACKENDS}
    assert set(BACKENDS) == {"torch", "cpp", "cpp-sequence", "sparse", "numpy"}
    assert AUTO_ORDER == ("cpp-sequence", "cpp", "sparse", "torch")
    for name, backend in BACKENDS.items():
        assert backend.name == name and backend.summary


def test_auto_runs_a_one_layer_dnc_as_the_cpp_sequence():
    _kernels_or_skip()
    choice = _reference_model().backend_for(X)
    assert choice.name == "cpp-sequence" and "C++ sequence" in choice.reason
    assert _reference_model(controller="feedforward").backend_for(X).name == "cpp-sequence"


@pytest.mark.parametrize(
    ("options", "trace", "name", "why"),
    [
        ({"controller_layers": 2}, False, "cpp", "not cpp-sequence: the controller"),
        ({}, True, "cpp", "not cpp-sequence: a trace"),
        ({"num_writes": 2}, False, "torch", "not cpp: 2 write heads"),
        ({"link_sharpness": True}, False, "torch", "not cpp: link sharpness"),
        ({"link": "sparse", "link_k": 3}, False, "sparse", "sparse links ("),
    ],
)
def test_auto_says_why_it_passes_a_backend_over(options, trace, name, why):
    _kernels_or_skip()
    choice = _reference_model(**options).backend_for(X, trace=trace)
    assert choice.name == name and why in choice.reason, choice


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.compile's imports
def test_runtime_reasons():
    _kernels_or_skip()
    model = _reference_model()
    state = model.initial_state(2)
    hook = model.interface.register_forward_hook(lambda *a: None)
    assert "hooks" in model.backend_for(X, state).reason
    hook.remove()
    assert "dtype" in model.backend_for(X.float(), state).reason  # a float32 input
    mem = model.memory
    for dtype, device, why in [(torch.float16, "cpu", "float16"), (f64, "meta", "on meta")]:
        s = mem.initial_state(2, dtype=dtype, device=device)
        assert why in mem.choose_backend(Call(s)).reason
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert "autocast" in mem.choose_backend(Call(state.memory)).reason
    one = random_dnc_interface(mem, 1, torch.Generator().manual_seed(0))  # broadcasts over 2
    choice = mem.choose_backend(Call(state.memory, interface=one))
    assert choice.name == "torch" and "exact shapes" in choice.reason
    model.compile_step()  # (compiles lazily, on the first call: nothing is compiled here)
    assert "compile_step" in model.backend_for(X).reason


def test_a_no_grad_pass_does_not_build_the_kernels(monkeypatch):
    """Without grad mode the C++ backends run only if the kernels are already there."""
    monkeypatch.setattr(native, "kernels", lambda build=True: "kernels" if build else None)
    mem = _reference_model().memory
    state = mem.initial_state(2, dtype=f64)
    with torch.no_grad():
        choice = mem.choose_backend(Call(state))
    assert choice.name == "torch" and "not built" in choice.reason


def test_auto_never_chooses_numpy():
    model = _reference_model()
    with torch.no_grad():
        assert model.backend_for(X).name != "numpy"
    assert "numpy" not in AUTO_ORDER


def test_a_backend_asked_for_runs_or_says_why_not():
    _kernels_or_skip()
    assert "asked for" in _reference_model(backend="torch").backend_for(X).reason
    for options, backend, why in [
        ({"num_writes": 2}, "cpp", "2 write heads"),
        ({"num_writes": 2}, "cpp-sequence", "2 write heads"),
        ({"link_sharpness": True}, "cpp", "link sharpness"),
        ({}, "sparse", "link='sparse'"),
        ({"link": "sparse", "link_k": 3}, "torch", "dense links"),
        ({"link": "sparse", "link_k": 3}, "numpy", "dense links"),
    ]:
        with pytest.raises(BackendUnavailable, match=why):
            DNCMemory(N, 3, 2, backend=backend, **options)
    with pytest.raises(ValueError, match="backend must be one of"):
        DNCMemory(N, 3, 2, backend="gpu")
    model = _reference_model(backend="cpp-sequence", controller_layers=2)
    with pytest.raises(BackendUnavailable, match="controller is not one"):
        model(X)
    model = _reference_model(backend="cpp-sequence")
    with pytest.raises(BackendUnavailable, match="trace"):
        model(X, trace=True)
    model = _reference_model(backend="numpy")
    with pytest.raises(BackendUnavailable, match="gradients"):
        model(X)
    with torch.no_grad():
        model(X)


def test_choose_backend_on_the_configuration_alone():
    mem = DNCMemory(N, 3, 2, num_writes=2)
    assert choose_backend("auto", memory=mem).name == "torch"
    with pytest.raises(BackendUnavailable, match="2 write heads"):
        choose_backend("cpp", memory=mem)


def test_the_backend_can_be_changed_and_the_ntm_has_one():
    model = _reference_model()
    model.memory.backend = "torch"
    assert model.backend_for(X).name == "torch"
    with pytest.raises(ValueError, match="backend must be one of"):
        model.memory.backend = "fast"
    assert model.memory.backend == "torch"
    ntm = NTM(5, 4, hidden_size=6, num_cells=N, cell_width=3)
    assert ntm.backend_for(X.float()).name == "torch"
