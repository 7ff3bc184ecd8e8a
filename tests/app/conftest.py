"""Small graphs and vocabularies shared by the app tests."""

from __future__ import annotations

import networkx as nx
import pytest

from dnc_qa.app.questions import Vocabulary

STATIONS = [
    "Bank", "Oxford Circus", "Elephant & Castle", "King's Cross St. Pancras",
    "Liverpool Street", "St. Paul's", "Edgware Road (Circle)", "Edgware Road (Bakerloo)",
    "Victoria", "Green Park", "Tottenham Court Road", "Holborn", "Chancery Lane", "Warren Street",
    "Earl's Court",
]
LINES = ["Central", "Victoria", "Northern", "Hammersmith & City", "Bakerloo"]
PEOPLE = ["Alice", "Bob", "Mary Ann", "Freya", "Jack", "Fiona"]
KB_NODES = ["France", "Paris", "Hamlet", "Shakespeare", "Einstein", "Ulm", "Alice Smith"]
KB_LABELS = ["capital", "wrote", "born in", "likes", "author"]


def add(g: nx.MultiDiGraph, u: str, label: str, v: str) -> None:
    g.add_edge(u, v, key=label, label=label)


@pytest.fixture(scope="session")
def london_vocab() -> Vocabulary:
    labels = [f"{line} {d}" for line in LINES for d in ("E", "W")]
    labels += ["Victoria N", "Victoria S", "Northern N", "Northern S"]
    return Vocabulary.from_names(STATIONS, labels, graph="london", node_kind="station")


@pytest.fixture(scope="session")
def family_vocab() -> Vocabulary:
    labels = ["mother", "father", "son", "daughter", "husband", "wife"]
    return Vocabulary.from_names(PEOPLE, labels, graph="family", node_kind="person")


@pytest.fixture(scope="session")
def kb_vocab() -> Vocabulary:
    return Vocabulary.from_names(KB_NODES, KB_LABELS, graph="facts", node_kind="node")


@pytest.fixture()
def mini_tube() -> nx.MultiDiGraph:
    """A line Holborn - Chancery Lane - St. Paul's - Bank - Liverpool Street (Central, E/W),
    Oxford Circus - Green Park - Victoria (Victoria, S/N), Oxford Circus - Tottenham Court Road
    - Holborn (Central, E/W), plus a 2-stop Northern link Bank - Moorgate - Liverpool Street."""
    g = nx.MultiDiGraph()
    central = ["Oxford Circus", "Tottenham Court Road", "Holborn", "Chancery Lane", "St. Paul's",
               "Bank", "Liverpool Street"]
    for a, b in zip(central, central[1:], strict=False):
        add(g, a, "Central E", b)
        add(g, b, "Central W", a)
    victoria = ["Oxford Circus", "Green Park", "Victoria"]
    for a, b in zip(victoria, victoria[1:], strict=False):
        add(g, a, "Victoria S", b)
        add(g, b, "Victoria N", a)
    for a, b in (("Bank", "Moorgate"), ("Moorgate", "Liverpool Street")):
        add(g, a, "Northern N", b)
        add(g, b, "Northern S", a)
    return g


@pytest.fixture()
def family() -> nx.MultiDiGraph:
    """Three generations.

    Jack (m) + Joan (f) -> Fiona (f), Bob (m), Ben (m)
    Fiona + Tom (m) -> Alice (f), Ann (f)
    Alice + Sam (m) -> Freya (f), Finn (m)
    Bob -> Carl (m)
    Edges as in the bundled family tree: ``(child, mother|father, parent)``,
    ``(parent, son|daughter, child)`` and ``(x, wife|husband, y)``; every person has a ``sex``.
    """
    g = nx.MultiDiGraph()
    sexes = {"Jack": "M", "Joan": "F", "Fiona": "F", "Bob": "M", "Ben": "M", "Tom": "M",
             "Alice": "F", "Ann": "F", "Sam": "M", "Freya": "F", "Finn": "M", "Carl": "M"}
    for person, sex in sexes.items():
        g.add_node(person, sex=sex)
    parents = {
        "Fiona": ("Joan", "Jack"), "Bob": ("Joan", "Jack"), "Ben": ("Joan", "Jack"),
        "Alice": ("Fiona", "Tom"), "Ann": ("Fiona", "Tom"),
        "Freya": ("Alice", "Sam"), "Finn": ("Alice", "Sam"), "Carl": (None, "Bob"),
    }
    for child, (mother, father) in parents.items():
        for label, parent in (("mother", mother), ("father", father)):
            if parent:
                add(g, child, label, parent)
                add(g, parent, "son" if sexes[child] == "M" else "daughter", child)
    for wife, husband in [("Joan", "Jack"), ("Fiona", "Tom"), ("Alice", "Sam")]:
        add(g, husband, "wife", wife)
        add(g, wife, "husband", husband)
    return g
