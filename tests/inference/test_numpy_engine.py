"""``ask`` on the NumPy path gives the torch path's answers, confidences, ``--json`` and
traces, on the bundled map, family tree and text knowledge base; unsupported models fall
back to torch; errors stay the same."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from dnc_qa.app import engine
from dnc_qa.app.ask import AskResult, ask
from dnc_qa.app.demo import DEMO_QUESTIONS, PACKAGE_DATA
from dnc_qa.app.ingest import IngestOptions, ingest
from dnc_qa.app.workspace import Workspace
from dnc_qa.errors import CheckpointError, DncQaError
from dnc_qa.inference import UnsupportedModel

DATA = Path(__file__).resolve().parents[2] / "data"
FAMILY_EDGES = {"mother": 0, "father": 1, "son": 2, "daughter": 3, "husband": 4, "wife": 5}


def make_checkpoint(folder: Path, task: str, model: dict[str, Any], app: dict[str, Any] | None
                    = None, seed: int = 0) -> Path:
    """A checkpoint folder with random (perturbed, so decisive) weights."""
    from safetensors.torch import save_file

    config = {"task": task, "model": model, "app": {"planning_steps": 3, **(app or {})}}
    spec = engine.ModelSpec.from_config(config, folder / "config.json")
    torch.manual_seed(seed)
    net = engine._build(spec, folder)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    folder.mkdir(parents=True)
    save_file(net.state_dict(), str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps(config))
    return folder


SMALL = {"hidden_size": 24, "cell_width": 8, "num_reads": 2, "num_cells": 16}
CHECKPOINTS: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    # name: (task, model config, app config)
    "sp-dnc-ff": ("shortest_path", {"kind": "dnc", **SMALL, "controller": "feedforward",
                                    "controller_layers": 2, "num_writes": 2, "masking": True,
                                    "deallocation": True, "link_sharpness": True}, {}),
    "inf-ntm": ("inference", {"kind": "ntm", **SMALL, "num_writes": 1},
                {"edge_numbers": FAMILY_EDGES, "edge_labels": [0, 99],
                 "relations": {"maternal grandmother": 40, "paternal grandfather": 41,
                               "wife": 42}}),
    "trav-lstm": ("traversal", {"kind": "lstm", "hidden_size": 32, "controller_layers": 2}, {}),
    "trav-dnc-2w": ("traversal", {"kind": "dnc", **SMALL, "num_writes": 2,
                                  "controller_layers": 2, "clip": 0.5}, {}),
}

# graph entry: (source under data/, or a path; model reference)
ENTRIES = {
    "metro": ("transit", "traversal-dnc"),
    "family": (PACKAGE_DATA / "family-tree.json", "traversal-dnc"),
    "facts": ("kb/facts.txt", "traversal-dnc"),
    "metro-sp": ("transit", "sp-dnc-ff"),
    "family-inf": (PACKAGE_DATA / "family-tree.json", "inf-ntm"),
    "facts-lstm": ("kb/facts.txt", "trav-lstm"),
    "metro-2w": ("transit", "trav-dnc-2w"),
}

METRO = [q.question for q in DEMO_QUESTIONS if q.graph == "metro"]
FAMILY = [q.question for q in DEMO_QUESTIONS if q.graph == "family"]
FACTS = [line.split("\t")[0] for line in (DATA / "kb" / "questions.tsv").read_text().splitlines()
         if line and not line.startswith("#")][:10]
QUESTIONS = {"metro": METRO, "family": FAMILY, "facts": FACTS, "metro-sp": METRO[:3],
             "family-inf": FAMILY + ["who is Eli's paternal grandfather"],
             "facts-lstm": FACTS[:4], "metro-2w": METRO[2:]}


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    root = tmp_path_factory.mktemp("numpy-engine")
    ckpts = {name: str(make_checkpoint(root / name, *spec, seed=i))
             for i, (name, spec) in enumerate(CHECKPOINTS.items())}
    ws = Workspace(root / "home")
    torch.set_num_threads(1)
    for name, (source, ref) in ENTRIES.items():
        ingest(DATA / source, IngestOptions(name=name, model=ckpts.get(ref, ref)), ws)
    return ws


def _assert_same_result(n: AskResult, t: AskResult) -> None:
    nj, tj = n.to_json(), t.to_json()
    assert (nj["confidence"] is None) == (tj["confidence"] is None), (nj, tj)
    if tj["confidence"] is not None:
        assert nj["confidence"] == pytest.approx(tj["confidence"], rel=1e-4, abs=1e-30)
    assert {**nj, "confidence": None} == {**tj, "confidence": None}
    assert n.phases == t.phases
    assert sorted(n.trace) == sorted(t.trace)
    for key, value in t.trace.items():
        assert isinstance(n.trace[key], np.ndarray) and isinstance(value, torch.Tensor)
        np.testing.assert_allclose(n.trace[key], value.numpy(), rtol=1e-4, atol=1e-5,
                                   err_msg=key)


def _torch_described(model, graph, labels, seed: int = 0):
    """``engine.describe_now`` as torch writes it, restored into ``model``'s backend: a
    question routed to another model then starts from the same memory on both backends
    (each backend otherwise writes it itself, and allocation ties can break apart)."""
    torch_model = model if model.backend == "torch" else engine.load_model(model.ref, "torch")
    description = engine.describe_graph(torch_model, graph, labels, seed)
    tensors = dict(description.state)
    if model.backend == "numpy":
        tensors = {k: v.numpy() for k, v in tensors.items()}
    return engine.restore_state(engine.initial_state(model, description.num_cells), tensors,
                                Path("memory"))


@pytest.mark.parametrize("name", list(ENTRIES))
def test_numpy_and_torch_give_the_same_answers(ws: Workspace, name: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "describe_now", _torch_described)
    ref = ws.meta(name).model
    assert engine.load_model(ref, backend="auto").backend == "numpy"
    answered = 0
    for question in QUESTIONS[name]:
        # one memory: the stored one, the same for both (memories written at question time
        # for --views are written by each backend itself)
        t = ask(question, name, ws, backend="torch", views=1)
        n = ask(question, name, ws, backend="numpy", views=1)
        _assert_same_result(n, t)
        # a decoded output: an answer, or a label that names nothing (said, never shown)
        answered += t.answer is not None or "names nothing" in t.note
        # the command's output as it prints it
        assert json.dumps(n.to_json()).replace(str(n.confidence), "C") == json.dumps(
            t.to_json()).replace(str(t.confidence), "C")
    assert answered >= 1


def test_the_comparison_can_fail(ws: Workspace) -> None:
    """A different stored memory changes the answers: the check above is not vacuous."""
    t = ask(METRO[2], "metro-2w", ws, backend="torch", views=1)
    n = ask(METRO[2], "metro", ws, backend="numpy", views=1)
    with pytest.raises(AssertionError):
        _assert_same_result(n, t)


def test_default_is_numpy_when_supported(ws: Workspace) -> None:
    result = ask(METRO[2], "metro", ws)
    assert result.trace and all(isinstance(v, np.ndarray) for v in result.trace.values())


def test_untrained_and_unsupported_models_fall_back_to_torch(ws: Workspace, tmp_path: Path
                                                             ) -> None:
    model = engine.load_model("untrained", backend="auto")
    assert model is not None and model.backend == "torch"
    with pytest.raises(UnsupportedModel):
        engine.load_model("untrained", backend="numpy")
    # a config key the NumPy path does not know (a newer option): torch runs it
    folder = make_checkpoint(tmp_path / "newer", "traversal", {"kind": "dnc", **SMALL})
    config = json.loads((folder / "config.json").read_text())
    config["model"]["some_future_option"] = True
    (folder / "config.json").write_text(json.dumps(config))
    assert engine.load_model(str(folder), backend="auto").backend == "torch"
    with pytest.raises(UnsupportedModel, match="some_future_option"):
        engine.load_model(str(folder), backend="numpy")
    with pytest.raises(ValueError, match="backend"):
        engine.load_model(str(folder), backend="jax")


def test_errors_are_the_same_on_both_paths(ws: Workspace, tmp_path: Path) -> None:
    folder = make_checkpoint(tmp_path / "bad", "traversal", {"kind": "dnc", **SMALL})
    (folder / "model.safetensors").write_bytes(b"junk")
    messages = []
    for backend in ("torch", "auto"):
        with pytest.raises(CheckpointError, match=r"bad/model\.safetensors") as exc:
            engine.load_model(str(folder), backend=backend)
        messages.append(str(exc.value))
    assert messages[0] == messages[1]
    folder = make_checkpoint(tmp_path / "odd", "traversal", {"kind": "dnc", **SMALL})
    config = json.loads((folder / "config.json").read_text())
    config["model"]["hidden_size"] = "wide"
    (folder / "config.json").write_text(json.dumps(config))
    messages = []
    for backend in ("torch", "auto"):
        with pytest.raises(CheckpointError, match="cannot build the model") as exc:
            engine.load_model(str(folder), backend=backend)
        messages.append(str(exc.value))
    assert messages[0] == messages[1]
    # a stored memory that does not fit: the NumPy path names the file as torch does
    ws2 = Workspace(tmp_path / "home2")
    ingest(DATA / "kb" / "facts.txt", IngestOptions(name="facts", model="traversal-dnc"), ws2)
    memory = ws2.path("facts") / "memory.safetensors"
    memory.write_bytes(b"\x00garbage")
    for backend in ("torch", "numpy"):
        with pytest.raises(DncQaError, match=r"memory\.safetensors"):
            ask(FACTS[0], "facts", ws2, backend=backend)


def test_codec_numpy_equals_torch() -> None:
    from dnc_qa.app import codec

    triples = [(417, 3, None), (None, None, None), (0, 999, 250)]
    x_t = codec.encode_triples(triples, phase=[True, False], answer=[False, True, True])
    x_n = codec.encode_triples(triples, phase=[True, False], answer=[False, True, True],
                               backend="numpy")
    assert isinstance(x_n, np.ndarray) and x_n.dtype == np.float32
    assert np.array_equal(x_n, x_t.numpy()) and x_n.sum() == 6 + 9 + 1 + 2  # digits, phase, answer
    gen = torch.Generator().manual_seed(0)
    for _ in range(20):
        logits = torch.randn(90, generator=gen) * 3
        (t_triple, t_p), (n_triple, n_p) = (codec.decode_triple(logits),
                                            codec.decode_triple(logits.numpy()))
        assert t_triple == n_triple and n_p == pytest.approx(t_p, rel=1e-5)
        assert codec.triple_log_prob(logits.numpy(), t_triple) == pytest.approx(
            codec.triple_log_prob(logits, t_triple), rel=1e-5)
        np.testing.assert_allclose(codec.digit_log_probs(logits.numpy()),
                                   codec.digit_log_probs(logits).numpy(), rtol=1e-5, atol=1e-6)
