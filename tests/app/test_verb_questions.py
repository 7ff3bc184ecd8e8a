"""Fact questions whose verb is in another tense than the stored relation: labels are matched
by word stems, then by verb lemmas ("wrote" and "written" name the relation ``write``)."""

from __future__ import annotations

import pytest

from dnc_qa.app.name_lookup import UnknownNameError
from dnc_qa.app.queries import FactQuery
from dnc_qa.app.questions import Vocabulary, parse_question, resolve_label

# What a text knowledge base stores: verbs as lemmas, with their particles, and maker nouns.
NODES = ["Orla Venn", "Glass Harbour", "Tobin Marsh", "Quiet Mill", "Dunmere", "Lantern Bridge",
         "Ferris Kell", "apples"]
LABELS = ["write", "author", "paint", "painter", "live in", "build", "builder", "like",
          "born in"]


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return Vocabulary.from_names(NODES, LABELS, graph="kb")


@pytest.mark.parametrize(("typed", "label"), [
    ("write", "write"), ("writes", "write"), ("wrote", "write"), ("written", "write"),
    ("built", "build"), ("builds", "build"), ("painted", "paint"), ("lives", "live in"),
    ("lived in", "live in"), ("likes", "like"), ("liked", "like"), ("author", "author"),
])
def test_labels_match_any_form_of_the_verb(vocab: Vocabulary, typed: str, label: str) -> None:
    assert resolve_label(vocab.labels, typed) == label


def test_stored_past_tense_labels_match_the_base_form() -> None:
    labels = Vocabulary.from_names(["A"], ["wrote", "built", "likes"]).labels
    assert resolve_label(labels, "write") == "wrote"
    assert resolve_label(labels, "build") == "built"
    assert resolve_label(labels, "like") == "likes"


def test_unknown_verbs_stay_unknown(vocab: Vocabulary) -> None:
    with pytest.raises(UnknownNameError):
        resolve_label(vocab.labels, "sang")


@pytest.mark.parametrize(("question", "query"), [
    ("who wrote Glass Harbour", FactQuery("Glass Harbour", "write", inverse=True)),
    ("Who wrote the Glass Harbour?", FactQuery("Glass Harbour", "write", inverse=True)),
    ("what did Orla Venn write", FactQuery("Orla Venn", "write")),
    ("who is the author of Glass Harbour", FactQuery("Glass Harbour", "author")),
    ("who painted Quiet Mill", FactQuery("Quiet Mill", "paint", inverse=True)),
    ("who built the Lantern Bridge", FactQuery("Lantern Bridge", "build", inverse=True)),
    ("what did Ferris Kell build", FactQuery("Ferris Kell", "build")),
    ("where does Tobin Marsh live", FactQuery("Tobin Marsh", "live in")),
    ("who lives in Dunmere", FactQuery("Dunmere", "live in", inverse=True)),
    ("what does Orla Venn like", FactQuery("Orla Venn", "like")),
    ("who likes apples", FactQuery("apples", "like", inverse=True)),
])
def test_verb_questions_parse(vocab: Vocabulary, question: str, query: FactQuery) -> None:
    assert parse_question(question, vocab) == query
