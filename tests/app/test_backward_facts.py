"""Facts asked backwards with no inverse label stored ("who lives in X", "who was born in X"):
the questions that ask them, and the model's answer by asking every node its forward fact."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest

from dnc_qa.app.answer import ask_model, backward, facts
from dnc_qa.app.answer.facts import forward_chain
from dnc_qa.app.answer.runner import Runner
from dnc_qa.app.ask import ask
from dnc_qa.app.codec import LabelMap
from dnc_qa.app.exact_answers import exact_answer
from dnc_qa.app.ingest import IngestOptions, ingest
from dnc_qa.app.name_lookup import UnknownNameError
from dnc_qa.app.queries import FactQuery, MultiFactQuery
from dnc_qa.app.questions import Vocabulary, parse_question
from dnc_qa.app.workspace import Workspace

DATA = Path(__file__).resolve().parents[2] / "data" / "kb"

NODES = ["Zorvel", "Glass Harbor", "Tallowmere", "Veskaria", "Pellumbra", "Anika",
         "Lantern Field", "Marrow Gallery", "Mirela Quast"]
LABELS = ["write", "author", "born in", "in", "capital", "live in", "hang in", "mayor",
          "set in"]
M = MultiFactQuery


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return Vocabulary.from_names(NODES, LABELS, graph="kb")


@pytest.mark.parametrize(("question", "query"), [
    # passive verbs first: the sources of the fact
    ("Who was born in Tallowmere?", FactQuery("Tallowmere", "born in", inverse=True)),
    ("who is in Veskaria", FactQuery("Veskaria", "in", inverse=True)),
    ("Who was born in the capital of Veskaria?",
     M("Veskaria", ("capital", "born in"), (False, True))),
    # "by" names the source: a forward fact
    ("What was written by Zorvel?", FactQuery("Zorvel", "write")),
    ("Which book was written by Mirela Quast?", FactQuery("Mirela Quast", "write")),
    # "by" last: the agent is asked
    ("Who was Glass Harbor written by?", FactQuery("Glass Harbor", "author")),
    ("who was the book set in Pellumbra written by",
     M("Pellumbra", ("set in", "author"), (True, False))),
    # "the name of NP" is NP
    ("What is the name of the capital of Veskaria?", FactQuery("Veskaria", "capital")),
    ("What are the names of the people who live in Veskaria?",
     FactQuery("Veskaria", "live in", inverse=True)),
    # nouns for relations stored under other words
    ("What is the birthplace of Zorvel?", FactQuery("Zorvel", "born in")),
    ("What is Zorvel's birthplace?", FactQuery("Zorvel", "born in")),
    ("Where was the writer of Glass Harbor born?", M("Glass Harbor", ("author", "born in"))),
    # "the country where X is": X's place
    ("What is the capital of the country where Tallowmere is?",
     M("Tallowmere", ("in", "capital"))),
    ("Who is the mayor of the capital of the country where Tallowmere lies?",
     M("Tallowmere", ("in", "capital", "mayor"))),
    ("Which gallery does Lantern Field hang in?", FactQuery("Lantern Field", "hang in")),
    ("Where is the gallery where Lantern Field hangs?", FactQuery("Lantern Field", "hang in")),
])
def test_backward_and_synonym_questions_parse(vocab: Vocabulary, question: str, query: object
                                              ) -> None:
    assert parse_question(question, vocab) == query


def test_where_x_is_needs_a_place_label() -> None:
    """Without an "in"-like label, "the country where X is" names nothing to walk."""
    vocab = Vocabulary.from_names(["Tallowmere", "Veskaria"], ["capital", "born in"],
                                  graph="kb")
    with pytest.raises(UnknownNameError, match="no node 'country where Tallowmere is'"):
        parse_question("What is the capital of the country where Tallowmere is?", vocab)


# ------------------------------------------------------------------ answering by candidates


def _graph() -> nx.MultiDiGraph:
    g = nx.MultiDiGraph()
    for a, r, b in [("Zorvel", "born in", "Tallowmere"), ("Mirela Quast", "born in", "Tallowmere"),
                    ("Anika", "born in", "Pellumbra"), ("Tallowmere", "in", "Veskaria"),
                    ("Veskaria", "capital", "Pellumbra"), ("Anika", "live in", "Veskaria"),
                    ("Zorvel", "write", "Glass Harbor")]:
        g.add_edge(a, b, key=r)
    return g


class _Oracle:
    """A stand-in for the network's one-hop read: the stored fact, with ``prob``."""

    def __init__(self, graph: nx.MultiDiGraph, prob: float):
        self.graph, self.prob, self.asked = graph, prob, []

    def __call__(self, runner: Runner, labels: LabelMap, start: str, edges: tuple[str, ...]
                 ) -> list[facts._Read]:
        self.asked.append((start, edges))
        node, reads = start, []
        for e in edges:
            targets = sorted(v for _, v, k in self.graph.out_edges(node, keys=True) if k == e)
            nxt = targets[0] if targets else None
            nums = (labels.nodes[node], labels.edges[e], labels.nodes.get(nxt, 999))
            reads.append(facts._Read(node, e if nxt else None, nxt, nums, self.prob))
            node = nxt or node
        return reads


@pytest.fixture
def setting(monkeypatch: pytest.MonkeyPatch):
    graph = _graph()
    labels = LabelMap({n: i for i, n in enumerate(sorted(graph.nodes))},
                      {e: 10 + i for i, e in enumerate(sorted({k for *_, k in graph.edges}))},
                      seed=0)

    def install(prob: float) -> _Oracle:
        oracle = _Oracle(graph, prob)
        monkeypatch.setattr(backward, "read_walk", oracle)
        monkeypatch.setattr(facts, "read_walk", oracle)
        return oracle

    return graph, labels, install


class _Model:
    class spec:  # noqa: N801 - the attribute a LoadedModel's spec has here
        task, walk_steps = "traversal", 3


@pytest.mark.parametrize("query", [
    FactQuery("Tallowmere", "born in", inverse=True),
    M("Veskaria", ("capital", "born in"), (False, True)),
    M("Veskaria", ("live in", "born in"), (True, False)),
    M("Pellumbra", ("born in", "live in", "capital"), (True, False, False)),
    FactQuery("Veskaria", "born in", inverse=True),  # nobody: an empty list
])
def test_every_node_is_asked_and_the_sure_ones_answer(setting, query) -> None:
    graph, labels, install = setting
    oracle = install(0.9)
    chain = forward_chain(query if isinstance(query, M) else M(
        query.subject, (query.relation,), (query.inverse,)), labels)
    out = backward.answer_backward_chain(Runner(_Model(), None), labels, chain)
    assert out.answer is not None and out.answer.kind == "nodes"
    assert set(out.answer.nodes) == set(exact_answer(graph, query).nodes)
    assert "every node was asked its own fact" in out.note
    longest_forward, run = 0, 0
    for back in chain.inverse:
        run = 0 if back else run + 1
        longest_forward = max(longest_forward, run)
    if out.answer.nodes:  # the least sure hop: a walk's product, or 0.9 for a backward hop
        assert out.confidence == pytest.approx(0.9 ** max(1, longest_forward))
    else:  # no read ended at Veskaria: every "no" is certain
        assert out.confidence == 1.0
    if isinstance(query, FactQuery):  # every node but the object asked once, one hop each
        assert sorted(s for s, _ in oracle.asked) == sorted(set(graph.nodes) - {query.subject})
        assert all(edges == (query.relation,) for _, edges in oracle.asked)


def test_unsure_reads_are_not_answers(setting) -> None:
    graph, labels, install = setting
    install(0.4)
    out = backward.answer_backward_chain(
        Runner(_Model(), None), labels, M("Tallowmere", ("born in",), (True,)))
    assert out.answer is not None and out.answer.nodes == ()
    assert out.confidence == pytest.approx(0.6)  # each "no" is 60 % sure


def test_a_stored_inverse_label_is_walked_forwards(setting) -> None:
    """"Who wrote Glass Harbor" walks the stored "author" edge: no enumeration."""
    graph, labels, install = setting
    labels.edges["author"] = 99
    chain = forward_chain(M("Glass Harbor", ("write",), (True,)), labels)
    assert chain == M("Glass Harbor", ("author",), (False,))


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    ws = Workspace(tmp_path_factory.mktemp("kb-backward") / "home")
    ingest(DATA / "facts.txt", IngestOptions(name="facts", model="traversal-dnc"), ws)
    return ws


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_the_shipped_model_answers_who_lives_in(ws: Workspace, backend: str) -> None:
    result = ask("who lives in Larkhaven", "facts", ws, backend=backend)
    assert result.query == FactQuery("Larkhaven", "live in", inverse=True)
    assert result.exact.kind == "nodes" and result.exact.nodes
    assert result.answer is not None and result.answer.kind == "nodes"
    assert "every node was asked its own fact" in result.note
    entry = ws.load("facts")
    answer_steps = [b - a for kind, a, b in result.phases if kind == "answer"]
    # the stored memory answered one one-hop query per node but Larkhaven
    assert len(answer_steps) >= entry.graph.number_of_nodes() - 1
    assert set(answer_steps) == {1}


def test_the_model_answers_a_chain_with_a_backward_hop(ws: Workspace) -> None:
    entry = ws.load("facts")
    from dnc_qa.app import engine

    model = engine.load_model(entry.meta.model, backend="numpy")
    state = engine.load_state(model, entry.memory_file, entry.meta.memory_cells)
    query = M("Quentin", ("write", "like"), (False, True))
    out = ask_model(model, state, entry.graph, entry.labels, query)
    assert out.answer is not None and out.answer.kind == "nodes"
    assert set(out.answer.nodes) == set(exact_answer(entry.graph, query).nodes)
