"""The public Python API (``import dnc_qa``): ingest, ask, stored graphs, models, training and
evaluation, and that importing it stays cheap."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import dnc_qa
from dnc_qa.errors import DncQaError

ROOT = Path(__file__).resolve().parents[1]
TRANSIT = ROOT / "data" / "transit"
FAMILY = ROOT / "dnc_qa" / "app" / "demo_data" / "family-tree.json"


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def metro(home: Path) -> dnc_qa.Graph:
    return dnc_qa.ingest(TRANSIT, name="metro", home=home)


def test_import_is_cheap_and_lists_the_api() -> None:
    code = ("import sys, dnc_qa; print(sorted(m for m in ('torch', 'spacy', 'networkx', "
            "'numpy') if m in sys.modules)); print(sorted(dnc_qa.__all__))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True).stdout.splitlines()
    assert out[0] == "[]"
    assert {"ingest", "Graph", "Answer", "load_model", "train", "evaluate"} <= set(eval(out[1]))


def test_ingest_and_ask_a_shortest_path(metro: dnc_qa.Graph) -> None:
    ans = metro.ask("shortest path from Fenford Square to Larkton")
    assert isinstance(ans, dnc_qa.Answer)
    assert ans.graph == "metro" and ans.question.startswith("shortest path")
    assert ans.query.startswith("shortest path")
    # the exact answer is a path of [source, label, target] steps from A to B
    assert ans.exact[0][0] == "Fenford Square" and ans.exact[-1][2] == "Larkton"
    assert all(a[2] == b[0] for a, b in zip(ans.exact, ans.exact[1:], strict=False))
    assert "Fenford Square" in ans.exact_text
    if ans.withheld is not None:  # below the threshold: held back, its confidence kept
        assert ans.answer is None and ans.agrees is None
        assert ans.confidence is not None and ans.confidence < ans.min_confidence
    elif ans.answer is None:
        assert ans.agrees is None and ans.note and ans.confidence is None
    else:
        assert isinstance(ans.agrees, bool) and 0.0 <= ans.confidence <= 1.0
    assert "exact: " in str(ans)
    data = ans.to_dict()
    assert json.loads(json.dumps(data))["exact"] == ans.exact and "trace" not in data


def test_a_model_answer_with_trace_and_plot(metro: dnc_qa.Graph, tmp_path: Path) -> None:
    ans = metro.ask("from Fenford Square take the Amber line north for 3 stops")
    assert ans.model == metro.meta.model != "none"
    assert ans.answer is not None and ans.answer_text and ans.agrees is not None
    assert ans.agrees == (ans.answer == ans.exact)
    assert ans.trace and ans.phases
    png = metro.plot_memory(ans, tmp_path / "memory.png")
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_exact_only(metro: dnc_qa.Graph) -> None:
    ans = metro.ask("which stations are next to Quillgate Hill", exact_only=True)
    assert ans.answer is None and ans.agrees is None
    assert sorted(ans.exact) == ["Kelstead", "Larkcross Square", "Larkton", "Marley Square"]


def test_stored_graphs_are_shared(home: Path, metro: dnc_qa.Graph) -> None:
    assert "metro" in dnc_qa.list_graphs(home=home)
    again = dnc_qa.open_graph("metro", home=home)
    assert again.info()["nodes"] == metro.meta.nodes == again.to_networkx().number_of_nodes()
    assert "metro" in repr(again)
    with pytest.raises(DncQaError, match="nope"):
        dnc_qa.open_graph("nope", home=home)


def test_family_relation_and_remove(home: Path) -> None:
    family = dnc_qa.ingest(FAMILY, name="fam", model="none", home=home)
    ans = family.ask("who is Cai's maternal grandmother")
    assert ans.exact == ["Rosa"] and ans.answer is None and "without a model" in ans.note
    family.remove()
    assert "fam" not in dnc_qa.list_graphs(home=home)


def test_text_knowledge_base(home: Path, tmp_path: Path) -> None:
    kb = tmp_path / "facts.txt"
    kb.write_text("Jonah likes apples.\nHamlet was written by Shakespeare.\n"
                  "Shakespeare, who was born in Stratford, wrote Macbeth.\nJonah is tall.\n")
    with pytest.raises(DncQaError, match="1 of 4 sentences cannot be read"):
        dnc_qa.ingest(kb, model="none", home=home, strict=True)
    assert "facts" not in dnc_qa.list_graphs(home=home)  # a refused file stores nothing
    g = dnc_qa.ingest(kb, model="none", home=home)  # by default the rest is stored
    assert [(u.line, u.sentence) for u in g.unread] == [(4, "Jonah is tall.")]
    assert g.unread[0].reason == "no sentence form matches"
    assert dnc_qa.ingest(ROOT / "data" / "kb" / "facts.txt", name="town", model="none",
                         home=home).unread == ()
    assert g.ask("what does Jonah like").exact == ["apples"]
    assert g.ask("where was Shakespeare born").exact == ["Stratford"]
    assert g.ask("who is the author of Hamlet").exact == ["Shakespeare"]  # an inverse fact
    assert sorted(g.ask("what did Shakespeare write").exact) == ["Hamlet", "Macbeth"]
    assert g.ask("who wrote Hamlet").exact == ["Shakespeare"]  # "wrote": the lemma "write"


def test_text_knowledge_base_without_a_readable_sentence(home: Path, tmp_path: Path) -> None:
    kb = tmp_path / "nothing.txt"
    kb.write_text("Jonah is tall.\nSo do I.\n")
    for strict in (False, True):
        with pytest.raises(DncQaError, match=r"none of the 2 sentence\(s\) can be read"):
            dnc_qa.ingest(kb, model="none", home=home, strict=strict)
    assert "nothing" not in dnc_qa.list_graphs(home=home)


def test_bad_input_is_one_line_error(home: Path, tmp_path: Path) -> None:
    with pytest.raises(DncQaError) as err:
        dnc_qa.ingest(tmp_path / "missing.json", home=home)
    assert "\n" not in str(err.value)
    with pytest.raises(DncQaError):
        dnc_qa.load_model("auto")


def test_train_load_and_evaluate(tmp_path: Path) -> None:
    import torch

    result = dnc_qa.train("copy", "dnc", out=tmp_path / "run", steps=3, hidden_size=16,
                          num_cells=8, cell_width=4, batch_size=2, final_eval_episodes=4,
                          lr=1e-3, curriculum=False, device="cpu")
    assert result.steps == 3 and result.checkpoint is not None
    net = dnc_qa.load_model(tmp_path / "run")
    assert isinstance(net, torch.nn.Module) and not net.training
    y, _ = net(torch.zeros(1, 5, net.input_size))
    assert y.shape == (1, 5, net.output_size)
    scores = dnc_qa.evaluate(tmp_path / "run", episodes=4, batch_size=2, device="cpu")
    assert scores.task == "copy" and scores.model == "dnc" and scores.step == 3
    assert scores.episodes == 4 and 0.0 <= scores.accuracy <= 1.0
    with pytest.raises(DncQaError, match="unknown training option"):
        dnc_qa.train("copy", out=tmp_path / "x", steps=1, hidden_sise=4)
    with pytest.raises(DncQaError, match="steps"):
        dnc_qa.train("copy", out=tmp_path / "x")


def test_train_is_callable_after_the_subpackage_is_imported() -> None:
    import dnc_qa.train.trainer  # binds the subpackage as dnc_qa.train

    assert callable(dnc_qa.train)
    assert dnc_qa.train.TrainConfig is dnc_qa.train.config.TrainConfig


def test_load_a_shipped_model() -> None:
    from dnc_qa.app.engine import shipped_models

    name = shipped_models()[0]
    net = dnc_qa.load_model(name)
    assert not net.training and sum(p.numel() for p in net.parameters()) > 0
