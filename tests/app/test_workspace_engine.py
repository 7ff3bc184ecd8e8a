"""The workspace store, the model engine (untrained and checkpoint models) and the plots."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import pytest
import torch

from dnc_qa.app import engine
from dnc_qa.app.answer import ask_model
from dnc_qa.app.ask import ask
from dnc_qa.app.codec import assign_labels, decode_triple, encode_triples
from dnc_qa.app.ingest import IngestOptions, ingest
from dnc_qa.app.plots import plot_memory
from dnc_qa.app.queries import NeighboursQuery, ShortestPathQuery, Step, TraversalQuery
from dnc_qa.app.workspace import Workspace, WorkspaceError
from dnc_qa.errors import CheckpointError, DncQaError
from dnc_qa.graphs.io import write_graph


@pytest.fixture()
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "home")


@pytest.fixture()
def tube_file(tmp_path: Path, mini_tube: nx.MultiDiGraph) -> Path:
    path = tmp_path / "tube.json"
    write_graph(mini_tube, path)
    return path


def test_encoding_round_trip() -> None:
    x = encode_triples([(417, 3, None)], phase=[True], answer=[False])
    assert x.shape == (1, 92) and x[0, 90] == 1 and x[0, 91] == 0
    assert x[0, 4] == 1 and x[0, 10 + 1] == 1 and x[0, 20 + 7] == 1 and x[0, 60:90].sum() == 0
    logits = torch.full((90,), -20.0)
    for i, d in enumerate("417003250"):
        logits[i * 10 + int(d)] = 20.0
    (src, edge, dst), p = decode_triple(logits)
    assert (src, edge, dst) == (417, 3, 250) and p > 0.99


def test_labels_are_distinct_and_seeded(mini_tube: nx.MultiDiGraph) -> None:
    a = assign_labels(mini_tube, seed=1)
    assert a == assign_labels(mini_tube, seed=1)
    assert len(set(a.nodes.values())) == mini_tube.number_of_nodes()
    assert a.node_name(a.nodes["Bank"]) == "Bank"
    with pytest.raises(ValueError, match="do not fit"):
        assign_labels(mini_tube, node_range=(0, 3))


def test_ingest_without_model_and_ask_exact(ws: Workspace, tube_file: Path) -> None:
    meta = ingest(tube_file, IngestOptions(name="tube", model="none"), ws)
    assert meta.model == "none" and meta.memory_cells is None
    assert ws.names() == ["tube"]
    result = ask("shortest path from bank to holborn", None, ws)
    assert result.answer is None and "without a model" in result.note
    assert result.exact.nodes[-1] == "Holborn" and result.agrees is None
    data = result.to_json()
    assert set(data) >= {"question", "query", "answer", "confidence", "exact", "agrees",
                         "graph", "model"}
    assert data["query"]["type"] == "shortest_path" and data["answer"] is None


def test_ingest_untrained_model_end_to_end(ws: Workspace, tube_file: Path, tmp_path: Path
                                           ) -> None:
    meta = ingest(tube_file, IngestOptions(name="tube", model="untrained"), ws)
    assert meta.memory_cells == meta.edges + engine.MEMORY_SLACK
    entry = ws.load("tube")
    assert entry.memory_file is not None and entry.trace_file is not None
    result = ask("from Bank take the Central line west for 2 stops", "tube", ws)
    assert isinstance(result.query, TraversalQuery)
    if result.answer is None:  # noise that names no station is no answer, never a label
        assert "names nothing in this graph" in result.note
    else:
        assert result.answer.kind == "path" and len(result.answer.nodes) == 3
        assert "untrained" in result.note and 0.0 <= result.confidence <= 1.0
        assert all(n in entry.graph for n in result.answer.nodes)
    assert result.trace["write_weights"].shape[0] == 4  # 2 query + 2 answer steps
    png = plot_memory(result.trace, result.phases, tmp_path / "m.png", "title")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_reingest_replaces_and_failed_ingest_keeps_previous(
    ws: Workspace, tube_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest(tube_file, IngestOptions(name="tube", model="none"), ws)
    before = (ws.path("tube") / "meta.json").read_text()
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(DncQaError, match="bad.json"):
        ingest(bad, IngestOptions(name="tube", model="none"), ws)
    assert (ws.path("tube") / "meta.json").read_text() == before

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("safetensors.torch.save_file", boom)
    with pytest.raises(OSError, match="disk full"):
        ingest(tube_file, IngestOptions(name="tube", model="untrained"), ws)
    assert (ws.path("tube") / "meta.json").read_text() == before
    assert [p.name for p in ws.graphs.iterdir()] == ["tube"]  # no temporary folder left
    monkeypatch.undo()
    ingest(tube_file, IngestOptions(name="tube", model="untrained"), ws)
    assert json.loads((ws.path("tube") / "meta.json").read_text())["model"] == "untrained"


def test_clean_removes_only_old_leftovers(ws: Workspace) -> None:
    import os

    ws.graphs.mkdir(parents=True)
    old, new = ws.graphs / ".tmp-a-1", ws.graphs / ".tmp-b-2"
    old.mkdir()
    new.mkdir()
    os.utime(old, (0, 0))
    assert ws.clean() == [old]
    assert new.exists() and not old.exists() and ws.names() == []


def test_missing_and_corrupt_entries(ws: Workspace, tube_file: Path) -> None:
    with pytest.raises(WorkspaceError, match="dncqa ingest"):
        ws.load("nothing")
    ingest(tube_file, IngestOptions(name="tube", model="untrained"), ws)
    (ws.path("tube") / "labels.json").write_text("[1, 2]")
    with pytest.raises(WorkspaceError, match=r"labels\.json"):
        ws.load("tube")
    ingest(tube_file, IngestOptions(name="tube", model="untrained"), ws)
    (ws.path("tube") / "memory.safetensors").write_bytes(b"\x00garbage")
    with pytest.raises(DncQaError, match=r"memory\.safetensors"):
        ask("neighbours of Bank", "tube", ws)
    ws.remove("tube")
    assert ws.names() == []
    with pytest.raises(WorkspaceError, match="invalid graph name"):
        ws.path("../etc")


def test_limits_name_the_option(ws: Workspace, tube_file: Path) -> None:
    with pytest.raises(DncQaError, match="--max-edges"):
        ingest(tube_file, IngestOptions(name="tube", model="none", max_edges=5), ws)
    with pytest.raises(DncQaError, match="--max-nodes"):
        ingest(tube_file, IngestOptions(name="tube", model="none", max_nodes=3), ws)
    assert ws.names() == []


def _checkpoint(folder: Path, task: str, extra: dict | None = None) -> Path:
    from safetensors.torch import save_file

    config = {"task": task, "model": {"kind": "dnc", "hidden_size": 16, "num_cells": 8,
                                      "cell_width": 8, "num_reads": 1},
              "app": {"planning_steps": 2, **(extra or {})}}
    spec = engine.ModelSpec.from_config(config, folder / "config.json")
    torch.manual_seed(0)
    net = engine._build(spec, folder)
    folder.mkdir(parents=True)
    save_file(net.state_dict(), str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def test_checkpoint_plugs_in(ws: Workspace, tube_file: Path, tmp_path: Path) -> None:
    ckpt = _checkpoint(tmp_path / "ckpt", "shortest_path")
    model = engine.load_model(str(ckpt))
    assert model is not None and model.trained and model.spec.planning_steps == 2
    ingest(tube_file, IngestOptions(name="tube", model=str(ckpt)), ws)
    result = ask("shortest path from Holborn to Bank", "tube", ws)
    assert isinstance(result.query, ShortestPathQuery)
    assert result.answer is not None and result.answer.nodes[0] == "Holborn"
    assert result.agrees in (True, False)
    # a traversal question goes to the shipped traversal model, which reads the graph now
    other = ask("from Bank take the Central line west", "tube", ws)
    assert other.model == "traversal-dnc" and other.answer is not None
    assert "answered by 'traversal-dnc'" in other.note
    assert other.exact.nodes == ("Bank", "St. Paul's")
    # the weights change after ingest: the stored memory no longer fits
    (ckpt / "model.safetensors").write_bytes((ckpt / "model.safetensors").read_bytes()[:-4]
                                              + b"\x00\x00\x00\x00")
    with pytest.raises(CheckpointError, match="re-run dncqa ingest"):
        ask("shortest path from Holborn to Bank", "tube", ws)


def test_bad_checkpoints_name_the_file(tmp_path: Path) -> None:
    ckpt = _checkpoint(tmp_path / "c1", "traversal")
    (ckpt / "model.safetensors").write_bytes(b"junk")
    with pytest.raises(CheckpointError, match=r"c1/model\.safetensors"):
        engine.load_model(str(ckpt))
    ckpt = _checkpoint(tmp_path / "c2", "traversal")
    (ckpt / "config.json").write_text("{")
    with pytest.raises(CheckpointError, match=r"c2/config\.json"):
        engine.load_model(str(ckpt))
    ckpt = _checkpoint(tmp_path / "c3", "traversal")
    (ckpt / "config.json").write_text(json.dumps({"task": "copy", "model": {}}))
    with pytest.raises(CheckpointError, match="not a graph task"):
        engine.load_model(str(ckpt))
    with pytest.raises(CheckpointError, match="no model 'nowhere'"):
        engine.load_model("nowhere")


def test_traversal_model_answers_neighbours_and_facts(mini_tube: nx.MultiDiGraph,
                                                      tmp_path: Path) -> None:
    model = engine.load_model(str(_checkpoint(tmp_path / "t", "traversal")))
    labels = assign_labels(mini_tube)
    desc = engine.describe_graph(model, mini_tube, labels)
    state = engine.restore_state(engine.initial_state(model, desc.num_cells), desc.state,
                                 tmp_path / "x")
    out = ask_model(model, state, mini_tube, labels, NeighboursQuery("Bank"))
    assert out.answer is not None and out.answer.kind == "nodes"
    assert [p[0] for p in out.phases] == ["query Central E", "answer Central E",
                                          "query Central W", "answer Central W",
                                          "query Northern N", "answer Northern N"]
    tq = TraversalQuery("Bank", (Step("Central", "W"),))
    assert ask_model(None, None, mini_tube, labels, tq).answer is None


def test_fixed_edge_numbers(mini_tube: nx.MultiDiGraph) -> None:
    labels = assign_labels(mini_tube, edge_range=(0, 9), fixed_edges={"Central E": 7, "x": 8})
    assert labels.edges["Central E"] == 7 and "x" not in labels.edges
    assert all(0 <= v <= 9 and v not in (7, 8) for k, v in labels.edges.items()
               if k != "Central E")


def test_codec_matches_the_trainers_encoding() -> None:
    from dnc_qa.encoding import labels as enc

    assert (enc.INPUT_SIZE, enc.OUTPUT_SIZE) == (92, 90)
    assert (enc.PHASE_CHANNEL, enc.ANSWER_CHANNEL) == (90, 91)
    x = encode_triples([(417, None, 9)])
    assert torch.equal(x[0, :90], enc.encode_triple(417, None, 9))
    logits = torch.randn(90)
    (src, edge, dst), _ = decode_triple(logits)
    assert tuple(enc.decode_triple(logits)) == (src, edge, dst)
