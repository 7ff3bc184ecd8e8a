"""A question goes to the shipped model trained for its type, which reads the graph then."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dnc_qa.app import engine
from dnc_qa.app.answer.runner import Runner, plan
from dnc_qa.app.ask import ask
from dnc_qa.app.ingest import IngestOptions, ingest
from dnc_qa.app.ship import ship
from dnc_qa.app.workspace import Workspace
from dnc_qa.train.config import CurriculumConfig, GraphConfig, ModelConfig, TrainConfig
from dnc_qa.train.trainer import train

DATA = Path(__file__).resolve().parents[2] / "data"


def _pretrained_with(tmp_path_factory, task: str, name: str,
                     graph: GraphConfig | None = None) -> Path:
    """A pretrained folder with the shipped traversal model and a tiny, barely trained
    model for ``task`` shipped as ``name``."""
    root = tmp_path_factory.mktemp("pretrained")
    shutil.copytree(engine.PRETRAINED_DIR / "traversal-dnc", root / "traversal-dnc")
    run = tmp_path_factory.mktemp("run") / name
    cfg = TrainConfig(task=task, steps=2, batch_size=2, final_eval_episodes=2,
                      model=ModelConfig(kind="dnc", controller="feedforward", hidden_size=16,
                                        num_cells=8, cell_width=8, fit_cells=True),
                      curriculum=CurriculumConfig(eval_every=100),
                      graph=graph or GraphConfig())
    train(cfg, run, show_progress=False)
    ship(run, name, 4, "test", "test", dest_root=root)
    return root


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory) -> Path:
    """The traversal model and a shortest-path model with a planning budget that grows with
    the graph."""
    return _pretrained_with(tmp_path_factory, "shortest_path", "shortest-path-test",
                            GraphConfig(planning_steps=3, planning_per_edge=0.5))


def test_shortest_path_question_goes_to_the_shortest_path_model(
        pretrained: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "PRETRAINED_DIR", pretrained)
    ws = Workspace(tmp_path / "home")
    meta = ingest(DATA / "transit", IngestOptions(name="metro", model="traversal-dnc"), ws)
    assert meta.model == "traversal-dnc"
    spec = engine.load_model("shortest-path-test").spec
    assert (spec.task, spec.planning_steps, spec.planning_per_edge) == ("shortest_path", 3, 0.5)
    graph = ws.load("metro").graph
    a, b = sorted(graph.nodes)[:2]
    result = ask(f"shortest path from {a} to {b}", "metro", ws, backend="torch",
                 min_confidence=0.0)
    assert result.model == "shortest-path-test"
    assert result.answer is not None and result.answer.nodes[0] == a
    assert "answered by 'shortest-path-test'" in result.note
    # a traversal question still uses the stored memory of the entry's own model
    walk = ask(f"which stations are next to {a}", "metro", ws, backend="torch")
    assert walk.model == "traversal-dnc"


def test_planning_budget_follows_the_graph(pretrained: Path, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    monkeypatch.setattr(engine, "PRETRAINED_DIR", pretrained)
    model = engine.load_model("shortest-path-test", backend="torch")
    runner = Runner(model, engine.initial_state(model, 40), edges=9)
    plan(runner, (1, None, 2))
    assert runner.phases == [("query", 0, 1), ("planning", 1, 1 + 3 + 5)]  # 3 + ceil(4.5)


def test_no_routing_without_a_fitting_model(pretrained: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    only = tmp_path / "only"
    shutil.copytree(pretrained / "traversal-dnc", only / "traversal-dnc")
    monkeypatch.setattr(engine, "PRETRAINED_DIR", only)
    ws = Workspace(tmp_path / "home")
    ingest(DATA / "transit", IngestOptions(name="metro", model="traversal-dnc"), ws)
    a, b = sorted(ws.load("metro").graph.nodes)[:2]
    result = ask(f"shortest path from {a} to {b}", "metro", ws)
    assert result.answer is None and "trained for traversal" in result.note


def test_a_model_with_nan_weights_is_refused_naming_the_tensor(tmp_path: Path) -> None:
    import torch
    from safetensors.torch import load_file, save_file

    from dnc_qa.errors import CheckpointError

    folder = tmp_path / "bad"
    shutil.copytree(engine.PRETRAINED_DIR / "traversal-dnc", folder)
    weights = load_file(str(folder / "model.safetensors"))
    name = sorted(weights)[0]
    weights[name] = torch.full_like(weights[name], float("nan"))
    save_file(weights, str(folder / "model.safetensors"))
    for backend in ("torch", "auto"):
        with pytest.raises(CheckpointError, match=name.replace(".", r"\.")):
            engine.load_model(str(folder), backend=backend)


@pytest.fixture(scope="module")
def with_inference(tmp_path_factory) -> Path:
    """The traversal model beside an inference model."""
    return _pretrained_with(tmp_path_factory, "inference", "inference-test")


def test_family_relations_go_to_the_traversal_model(with_inference: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A family tree takes the traversal model, which walks any relation the app spells
    out; the inference model (trained on the paper's opaque relation labels) is not asked."""
    monkeypatch.setattr(engine, "PRETRAINED_DIR", with_inference)
    assert engine.resolve_model_ref("auto", "person") == "traversal-dnc"
    ws = Workspace(tmp_path / "home")
    family = Path(engine.__file__).parent / "demo_data" / "family-tree.json"
    meta = ingest(family, IngestOptions(name="family"), ws)
    assert meta.model == "traversal-dnc"
    graph = ws.load("family").graph
    person = next(n for n in sorted(graph.nodes)
                  if any(k == "mother" for *_, k in graph.out_edges(n, keys=True)))
    result = ask(f"who is {person}'s mother", "family", ws)
    assert result.model == "traversal-dnc" and result.answer is not None
    assert "inference-test" not in result.note


def test_a_family_tree_takes_an_inference_model_when_it_is_the_only_one(
        with_inference: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    only = tmp_path / "only"
    shutil.copytree(with_inference / "inference-test", only / "inference-test")
    monkeypatch.setattr(engine, "PRETRAINED_DIR", only)
    assert engine.resolve_model_ref("auto", "person") == "inference-test"
    assert engine.resolve_model_ref("auto", "station") == "none"


def test_an_inference_model_knows_the_family_relations_that_are_trained_ones(
        with_inference: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A shipped inference model numbers the family edges so that as many derived relations
    as possible are among its trained relations, and answers those by label when a family
    tree is ingested with it."""
    from dnc_qa.graphs.family import DERIVED_RELATIONS
    from dnc_qa.graphs.relations import paper_relations

    monkeypatch.setattr(engine, "PRETRAINED_DIR", with_inference)
    spec = engine.load_model("inference-test").spec
    paths = {r.label: r.path for r in paper_relations()}
    numbers = spec.edge_numbers
    assert sorted(numbers) == sorted({e for r in DERIVED_RELATIONS for e in r.path})
    assert all(0 <= n <= 9 for n in numbers.values())
    for relation in DERIVED_RELATIONS:
        label = spec.relations.get(relation.label)
        if len(relation.path) == 2:
            assert label is not None  # every two-edge path is a trained relation
        if label is not None:
            assert paths[label] == tuple(str(numbers[e]) for e in relation.path)
    ws = Workspace(tmp_path / "home")
    family = Path(engine.__file__).parent / "demo_data" / "family-tree.json"
    ingest(family, IngestOptions(name="family", model="inference-test"), ws)
    graph = ws.load("family").graph
    person = next(n for n in sorted(graph.nodes)
                  if any(k == "mother" for *_, k in graph.out_edges(n, keys=True)))
    known = ask(f"who is {person}'s maternal grandmother", "family", ws, min_confidence=0)
    assert known.model == "inference-test" and "answered by" not in known.note
    assert known.phases[0][0] == "query" and any(k == "planning" for k, *_ in known.phases)
    unknown = next(r.label for r in DERIVED_RELATIONS if r.label not in spec.relations)
    other = ask(f"who is {person}'s {unknown}", "family", ws)
    assert other.answer is None and "does not know the relation" in other.note
