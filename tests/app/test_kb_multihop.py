"""Questions chaining two or three relations over a text knowledge base: parsing (nested,
possessive and verb forms), exact answers, and the model's answer in one query."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from dnc_qa.app import engine
from dnc_qa.app.answer import ask_model
from dnc_qa.app.ask import ask
from dnc_qa.app.exact_answers import Answer, agrees, exact_answer, fact_chain
from dnc_qa.app.ingest import IngestOptions, ingest
from dnc_qa.app.name_lookup import UnknownNameError
from dnc_qa.app.queries import FactQuery, MultiFactQuery, inverse_label
from dnc_qa.app.questions import Vocabulary, parse_question
from dnc_qa.app.workspace import Workspace
from dnc_qa.kb.textkb import read_qa, read_text_kb

DATA = Path(__file__).resolve().parents[2] / "data" / "kb"

# What ingesting a text knowledge base stores: names, and relation labels as the extractor
# writes them (verb lemmas with particles, nouns, the inverse "author" of "write").
NODES = ["Eastmarch", "Larkhaven", "Orla", "Pell", "Tobin", "Hamlet", "Tom", "Westmarch",
         "Dunmere", "Silverrun", "Northern Reach", "Glass Harbour", "Bank of England"]
LABELS = ["capital", "mayor", "river", "father", "mother", "wife", "author", "write",
          "born in", "live in", "like", "twin town", "longest river", "based in"]

M = MultiFactQuery

CHAINS = [
    # nested "the R1 of the R2 of X"
    ("Who is the mayor of the capital of Eastmarch?", M("Eastmarch", ("capital", "mayor"))),
    ("what is the river of the capital of Eastmarch", M("Eastmarch", ("capital", "river"))),
    ("What's the longest river of the capital of Eastmarch",
     M("Eastmarch", ("capital", "longest river"))),
    ("who is the mother of the father of Pell", M("Pell", ("father", "mother"))),
    ("the mayor of the capital of the Northern Reach",
     M("Northern Reach", ("capital", "mayor"))),
    ("tell me the mayor of the twin town of the capital of Westmarch",
     M("Westmarch", ("capital", "twin town", "mayor"))),
    ("what is the mayor of the capital of the Bank of England",  # "of" inside a name
     M("Bank of England", ("capital", "mayor"))),
    # possessive chains, and possessives inside "of"
    ("who is Pell's father's mother", M("Pell", ("father", "mother"))),
    ("Who's Pell's father's mother's wife?", M("Pell", ("father", "mother", "wife"))),
    ("who is the mother of Pell's father", M("Pell", ("father", "mother"))),
    ("what is the river of Eastmarch's capital", M("Eastmarch", ("capital", "river"))),
    # verbs, with the inverse relation the knowledge base stores ("X wrote W": W's author)
    ("where was the author of Hamlet born", M("Hamlet", ("author", "born in"))),
    ("Where does the author of Hamlet live?", M("Hamlet", ("author", "live in"))),
    ("who wrote the book that Tom likes", M("Tom", ("like", "author"))),
    ("who wrote the book Tom likes", M("Tom", ("like", "author"))),
    ("who is the author of the book that Tom likes", M("Tom", ("like", "author"))),
    ("what is the capital of the country Tom lives in", M("Tom", ("live in", "capital"))),
    ("what is the capital of the country that Tom lives in",
     M("Tom", ("live in", "capital"))),
    ("what is the capital of the country where Tom lives", M("Tom", ("live in", "capital"))),
    ("who is the mayor of the city where Tom was born", M("Tom", ("born in", "mayor"))),
    ("what does the author of Hamlet like", M("Hamlet", ("author", "like"))),
    ("where was the person who wrote Hamlet born", M("Hamlet", ("author", "born in"))),
    ("who is the mayor of the city that is the capital of Eastmarch",
     M("Eastmarch", ("capital", "mayor"))),
    ("who is the mayor of the city where the author of Hamlet lives",
     M("Hamlet", ("author", "live in", "mayor"))),
    ("where was the mother of the author of Hamlet born",
     M("Hamlet", ("author", "mother", "born in"))),
    # a hop with no stored inverse label stays a backwards hop
    ("who likes the book that Tom wrote", M("Tom", ("write", "like"), (False, True))),
]

SINGLE = [
    ("what is the capital of Eastmarch", FactQuery("Eastmarch", "capital")),
    ("who wrote Hamlet", FactQuery("Hamlet", "write", inverse=True)),
    ("where was Tom born", FactQuery("Tom", "born in")),
    ("who is Pell's father", FactQuery("Pell", "father")),
    ("what is the country Tom lives in", FactQuery("Tom", "live in")),
]


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return Vocabulary.from_names(NODES, LABELS, graph="kb")


@pytest.mark.parametrize(("question", "query"), CHAINS, ids=[q for q, _ in CHAINS])
def test_chained_questions_parse(vocab: Vocabulary, question: str, query: MultiFactQuery
                                 ) -> None:
    assert parse_question(question, vocab) == query


@pytest.mark.parametrize(("question", "query"), SINGLE, ids=[q for q, _ in SINGLE])
def test_one_relation_questions_stay_facts(vocab: Vocabulary, question: str,
                                           query: FactQuery) -> None:
    assert parse_question(question, vocab) == query


@pytest.mark.parametrize(("question", "message"), [
    ("who is the mayr of the capital of Eastmarch",
     "no relation 'mayr' in 'kb'; did you mean 'mayor'?"),
    ("who is the mayor of the captal of Eastmarch",
     "no relation 'captal' in 'kb'; did you mean 'capital'?"),
    ("who is the mayor of the capital of Eastmrch",
     "no node 'Eastmrch' in 'kb'; did you mean 'Eastmarch'?"),
])
def test_a_misspelt_word_in_a_chain_is_named(vocab: Vocabulary, question: str,
                                             message: str) -> None:
    with pytest.raises(UnknownNameError) as info:
        parse_question(question, vocab)
    assert str(info.value) == message


# Phrasings of each relation, to write generated chains as questions: a noun ("the R of
# NP", "NP's R"), a relative clause around NP, and the verb a question ends with.
NOUN = {"mother", "father", "wife", "husband", "author", "capital", "mayor", "founder",
        "director", "son", "daughter", "child", "parent"}
CLAUSE = {
    "born in": ["the city where {np} was born", "the place {np} was born in"],
    "live in": ["the place {np} lives in", "the place where {np} lives",
                "the place that {np} lives in"],
    "like": ["the book {np} likes", "the work that {np} likes"],
    "work for": ["the company {np} works for", "the organisation that {np} works for"],
    "set in": ["the place where {np} is set", "the place {np} is set in"],
    "in": ["the country {np} is in"],
    "based in": ["the city where {np} is based", "the city {np} is based in"],
    "write": ["the book {np} wrote", "the book written by {np}",
              "the book that was written by {np}"],
    "found": ["the company {np} founded", "the company founded by {np}"],
    "direct": ["the company {np} directs"],
}
LAST = {
    "born in": ["where was {np} born", "in which city was {np} born"],
    "live in": ["where does {np} live", "in which place does {np} live"],
    "like": ["what does {np} like"], "work for": ["who does {np} work for",
                                                 "which company does {np} work for"],
    "set in": ["where is {np} set"], "in": ["which country is {np} in"],
    "based in": ["where is {np} based"], "write": ["what did {np} write"],
    "found": ["what did {np} found"], "direct": ["what does {np} direct"],
}


def _phrase(subject: str, relations: tuple[str, ...], rnd: random.Random) -> str:
    """An English question for the chain ``relations`` from ``subject``."""
    np_ = subject
    *inner, last = relations
    for relation in inner:
        if relation in NOUN:
            forms = [f"the {relation} of {np_}"]
            if all(w[:1].isupper() or w.endswith("'s") for w in np_.split()):
                forms.append(f"{np_}'s {relation}")  # "'s" only after a name
            np_ = rnd.choice(forms)
        else:
            np_ = rnd.choice(CLAUSE[relation]).format(np=np_)
    if last in NOUN:
        return f"who is the {last} of {np_}"
    return rnd.choice(LAST[last]).format(np=np_)


def test_generated_chains_parse_back() -> None:
    """Chains drawn from random knowledge bases, written in the phrasings above, parse to
    the same chain."""
    from dnc_qa.tasks.kb_qa import chain_from, random_kb

    rnd, asked = random.Random(0), 0
    for seed in range(6):
        rng = np.random.default_rng(seed)
        kb = random_kb(40, rng)
        vocab = Vocabulary.from_graph(kb.graph, "kb")
        for start in sorted(kb.graph.nodes)[:10]:
            for length in (2, 3):
                relations = chain_from(kb.graph, start, length, rng)
                if relations is None:
                    continue
                question = _phrase(start, relations, rnd)
                assert parse_question(question, vocab) == M(start, relations), question
                asked += 1
    assert asked >= 50


def test_chain_json_and_description() -> None:
    q = M("Eastmarch", ("capital", "mayor"))
    assert q.to_json() == {
        "type": "multi_fact", "subject": "Eastmarch", "relations": ["capital", "mayor"],
        "inverse": [False, False],
        "chain": [["Eastmarch", "capital", "?1"], ["?1", "mayor", "?"]]}
    assert q.describe() == "(Eastmarch, capital, ?1), (?1, mayor, ?)"
    back = M("Tom", ("write", "like"), (False, True))
    assert back.describe() == "(Tom, write, ?1), (?, like, ?1)"
    with pytest.raises(ValueError):
        M("Tom", ("write", "like"), (True,))


def test_inverse_labels_are_the_ingests() -> None:
    assert inverse_label("write") == "author" and inverse_label("author") == "write"
    assert inverse_label("wife") == "husband" and inverse_label("capital") is None


def _kb() -> nx.MultiDiGraph:
    g = nx.MultiDiGraph()
    for u, k, v in [("Tom", "like", "Hamlet"), ("Tom", "like", "Lear"),
                    ("Hamlet", "author", "Will"), ("Lear", "author", "Will"),
                    ("Will", "born in", "Stratford"), ("Ann", "like", "Lear"),
                    ("Stratford", "in", "England")]:
        g.add_edge(u, v, key=k)
    return g


def test_exact_chain_follows_every_branch() -> None:
    g = _kb()
    assert fact_chain(g, M("Tom", ("like", "author"))) == Answer("nodes", ("Will",))
    assert fact_chain(g, M("Will", ("author", "like"), (True, True))) == Answer(
        "nodes", ("Ann", "Tom"))
    three = exact_answer(g, M("Tom", ("like", "author", "born in")))
    assert three == Answer("nodes", ("Stratford",))


def test_exact_chain_without_an_edge_has_no_answer() -> None:
    g = _kb()
    ans = exact_answer(g, M("Tom", ("like", "mayor")))
    assert ans.kind == "none"
    assert ans.note == "there is no 'mayor' edge from Hamlet, Lear (hop 2 of 2)"
    query = M("Tom", ("like", "mayor"))
    assert agrees(g, query, Answer("none"), ans)
    assert not agrees(g, query, Answer("node", ("Will",)), ans)


def test_bundled_chained_questions_are_answered_exactly() -> None:
    kb = read_text_kb(DATA / "facts.txt")
    assert not kb.unread
    vocab = Vocabulary.from_graph(kb.graph, "facts")
    pairs = read_qa(DATA / "multihop.tsv")
    hops = []
    for pair in pairs:
        query = parse_question(pair.question, vocab)
        assert isinstance(query, MultiFactQuery), pair.question
        hops.append(query.hops)
        assert set(exact_answer(kb.graph, query).nodes) == set(pair.answers), pair.question
    assert set(hops) == {2, 3}


# ------------------------------------------------------------------ the model's answers


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    ws = Workspace(tmp_path_factory.mktemp("kb-multihop") / "home")
    ingest(DATA / "facts.txt", IngestOptions(name="facts", model="traversal-dnc"), ws)
    return ws


def _answer_steps(phases: list[tuple[str, int, int]]) -> list[int]:
    return [stop - start for kind, start, stop in phases if kind == "answer"]


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_two_relations_in_one_query(ws: Workspace, backend: str) -> None:
    result = ask("who is Pell's father's mother", "facts", ws, backend=backend)
    assert result.exact == Answer("nodes", ("Orla",))
    assert _answer_steps(result.phases) == [2]  # one query, one answer step per hop
    assert result.answer is not None and result.answer.kind == "node"
    assert "hop by hop" not in result.note
    if result.answer.nodes == ("Orla",):
        assert result.agrees and result.note.startswith("the model's walk: Pell -[father]->")
    data = result.to_json()
    assert data["query"]["type"] == "multi_fact"
    assert data["query"]["relations"] == ["father", "mother"]
    assert data["query"]["chain"] == [["Pell", "father", "?1"], ["?1", "mother", "?"]]


def test_longer_chains_than_the_model_walks_go_hop_by_hop(ws: Workspace, tmp_path: Path
                                                          ) -> None:
    """A model trained on walks of up to 2 steps answers a 3-relation chain hop by hop."""
    import json
    import shutil

    short = tmp_path / "short-walks"
    shutil.copytree(engine.PRETRAINED_DIR / "traversal-dnc", short)
    config = json.loads((short / "config.json").read_text())
    config["app"]["walk_steps"] = 2
    (short / "config.json").write_text(json.dumps(config))
    assert engine.load_model(str(short)).spec.walk_steps == 2
    ingest(DATA / "facts.txt", IngestOptions(name="facts-short", model=str(short)), ws)
    result = ask("where was the mother of the author of the Glass Harbour born", "facts-short",
                 ws)
    assert result.exact.nodes == ("Harrowgate",)
    assert "answered hop by hop: 3 one-hop queries" in result.note
    assert _answer_steps(result.phases) == [1, 1, 1]


def test_chains_up_to_the_trained_walk_length_are_one_query(ws: Workspace) -> None:
    entry = ws.load("facts")
    model = engine.load_model(entry.meta.model, backend="numpy")
    longer = dataclasses.replace(model, spec=dataclasses.replace(model.spec, walk_steps=3))
    state = engine.load_state(longer, entry.memory_file, entry.meta.memory_cells)
    query = M("Glass Harbour", ("author", "mother", "born in"))
    out = ask_model(longer, state, entry.graph, entry.labels, query)
    assert _answer_steps(out.phases) == [3]
    assert "hop by hop" not in out.note


def test_a_missing_fact_is_no_answer_not_a_name(ws: Workspace) -> None:
    result = ask("who is the mayor of the capital of the Northern Reach", "facts", ws)
    assert result.exact.kind == "none" and "no 'mayor' edge from Harrowgate" in result.exact.note
    assert result.answer is not None and result.answer.kind == "none"
    assert result.confidence is None and result.agrees is True
    assert "the model finds no 'mayor' of Harrowgate" in result.answer.note
    assert result.note.startswith("at hop 2 the model wrote (")
    assert result.to_json()["answer"] is None


def test_a_missing_single_fact_is_no_answer(ws: Workspace) -> None:
    """No such fact: the exact answer is none; the model's answer is either none (it wrote
    another fact) or a name shown as a disagreement, never as agreeing."""
    result = ask("who is Tobin's mentor", "facts", ws)
    assert result.exact == Answer("nodes", ())
    assert result.answer is not None
    if result.answer.kind == "none":
        assert result.agrees is True
    else:
        assert result.answer.kind == "node" and result.agrees is False


def test_a_backwards_hop_asks_every_node(ws: Workspace) -> None:
    """No "like" inverse is stored: the backward hop is answered by asking each node what it
    likes (:mod:`dnc_qa.app.answer.backward`), and the note says so."""
    result = ask("who likes the book that Quentin wrote", "facts", ws)
    assert result.query == M("Quentin", ("write", "like"), (False, True))
    assert result.exact.nodes == ("Pell",)
    assert result.answer is not None and result.answer.kind == "nodes"
    assert "forwards only: for the backward 'like' hop every node was asked" in result.note


def test_a_kb_qa_model_is_a_traversal_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    """A model trained on kb_qa answers as a traversal model; ``auto`` takes it first for
    text knowledge bases and generic graphs, the paper's traversal model first for maps."""
    import json
    import shutil

    spec = engine.ModelSpec.from_config({"task": "kb_qa", "model": {"kind": "dnc"}}, tmp_path)
    assert (spec.task, spec.trained_on, spec.walk_steps) == ("traversal", "kb_qa", None)
    root = tmp_path / "pretrained"
    for name, task in (("a-traversal", "traversal"), ("b-kb", "kb_qa")):
        shutil.copytree(engine.PRETRAINED_DIR / "traversal-dnc", root / name)
        config = json.loads((root / name / engine.CONFIG).read_text())
        config["app"]["task"] = task
        (root / name / engine.CONFIG).write_text(json.dumps(config))
    monkeypatch.setattr(engine, "PRETRAINED_DIR", root)
    assert engine.resolve_model_ref("auto", "node") == "b-kb"
    assert engine.resolve_model_ref("auto", "station") == "a-traversal"
    assert engine.resolve_model_ref("auto", "person") == "a-traversal"
    assert engine.routed_model(engine.load_model("b-kb"), M("X", ("a", "b"))) is None


def test_a_shipped_kb_qa_run_walks_what_it_passed(tmp_path: Path) -> None:
    """Shipping a kb_qa run records the longest chain of the lessons it passed (one hop
    before any), as for traversal, and the app answers longer chains hop by hop."""
    from dnc_qa.app.ship import ship
    from dnc_qa.train.config import CurriculumConfig, ModelConfig, TrainConfig
    from dnc_qa.train.trainer import train

    run = tmp_path / "run"
    config = TrainConfig(task="kb_qa", steps=1, batch_size=2, final_eval_episodes=2,
                         device="cpu", model=ModelConfig(
                             kind="dnc", controller="feedforward", hidden_size=16,
                             num_cells=8, cell_width=8, fit_cells=True),
                         curriculum=CurriculumConfig(eval_every=100))
    train(config, run, show_progress=False)
    card = ship(run, "kb-test", 2, "test", "test", dest_root=tmp_path / "pretrained")
    assert card.task == "kb_qa"
    model = engine.load_model(str(tmp_path / "pretrained" / "kb-test"))
    assert (model.spec.task, model.spec.trained_on, model.spec.walk_steps) == (
        "traversal", "kb_qa", 1)
