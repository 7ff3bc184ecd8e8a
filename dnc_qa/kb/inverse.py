"""Inverse facts a text knowledge base implies, so the obvious question works both ways.

Triples follow the graph convention: ``(A, R, B)`` means *B is A's R*. From the stated facts:

* parents and children: ``(A, mother|father|parent, B)`` gives ``(B, son|daughter|child,
  A)``; ``(A, son|daughter|child, B)`` gives ``(B, mother|father|parent, A)``;
* couples and siblings: ``husband`` <-> ``wife``, ``brother|sister|sibling`` <->
  ``brother|sister|sibling``; the symmetric relations (``spouse``, ``married to``, ``marry``
  as in "Tom married Ann", ``partner``, ``friend``, ``cousin``, ...) both ways;
* works and their makers: ``(P, write, W)`` ("P wrote W") gives ``(W, author, P)`` and back;
  likewise ``paint``/``painter``, ``compose``/``composer``, ``found``/``founder``,
  ``direct``/``director``, ``invent``/``inventor``, ``design``/``designer``,
  ``build``/``builder``, ``discover``/``discoverer``, ``produce``/``producer``,
  ``publish``/``publisher``, ``own``/``owner``, and the other pairs of :data:`_WORKS`.

Where the inverse's word depends on a gender (son or daughter, mother or father, brother or
sister), the gender comes from the stated facts: a person who *is* someone's mother, wife,
daughter, sister, aunt, niece, grandmother or granddaughter is female, and likewise male for
the male words; without one the neutral word is used (``child``, ``parent``, ``sibling``).
A fact already stated is never added twice.
"""

from __future__ import annotations

from collections.abc import Iterable

from dnc_qa.graphs.model import Triple

FEMALE = {"mother", "wife", "daughter", "sister", "aunt", "niece", "grandmother",
          "granddaughter", "girlfriend", "queen"}
MALE = {"father", "husband", "son", "brother", "uncle", "nephew", "grandfather", "grandson",
        "boyfriend", "king"}

_PARENT = {"mother", "father", "parent"}
_CHILD = {"son", "daughter", "child"}
_SIBLING = {"brother", "sister", "sibling"}
_SYMMETRIC = {"spouse", "married to", "marry", "partner", "friend", "neighbour", "neighbor",
              "colleague", "cousin", "border"}
_WORKS = {"write": "author", "paint": "painter", "compose": "composer", "found": "founder",
          "direct": "director", "invent": "inventor", "design": "designer",
          "build": "builder", "discover": "discoverer", "produce": "producer",
          "publish": "publisher", "own": "owner", "edit": "editor", "illustrate": "illustrator",
          "translate": "translator", "sculpt": "sculptor", "create": "creator",
          "manage": "manager", "conduct": "conductor", "photograph": "photographer",
          "teach": "teacher", "win": "winner", "make": "maker",
          "manufacture": "manufacturer", "carve": "carver"}
_MAKERS = {v: k for k, v in _WORKS.items()}


def genders(triples: Iterable[Triple]) -> dict[str, str]:
    """``{person: "female" | "male"}`` from the relation words the person is (conflicting
    evidence: no gender)."""
    seen: dict[str, set[str]] = {}
    for t in triples:
        if t.relation in FEMALE:
            seen.setdefault(t.target, set()).add("female")
        elif t.relation in MALE:
            seen.setdefault(t.target, set()).add("male")
    return {p: next(iter(g)) for p, g in seen.items() if len(g) == 1}


def _gendered(person: str, gender: dict[str, str], female: str, male: str,
              neutral: str) -> str:
    return {"female": female, "male": male}.get(gender.get(person, ""), neutral)


def inverse_triples(triples: Iterable[Triple]) -> list[Triple]:
    """The inverse facts of ``triples`` that are not stated already, in order."""
    stated = list(dict.fromkeys(triples))
    have = set(stated)
    gender = genders(stated)
    out: list[Triple] = []
    for t in stated:
        a, r, b = t.source, t.relation, t.target
        if r in _PARENT:
            new = Triple(b, _gendered(a, gender, "daughter", "son", "child"), a)
        elif r in _CHILD:
            new = Triple(b, _gendered(a, gender, "mother", "father", "parent"), a)
        elif r == "husband":
            new = Triple(b, "wife", a)
        elif r == "wife":
            new = Triple(b, "husband", a)
        elif r in _SYMMETRIC:
            new = Triple(b, r, a)
        elif r in _SIBLING:
            new = Triple(b, _gendered(a, gender, "sister", "brother", "sibling"), a)
        elif r in _WORKS:
            new = Triple(b, _WORKS[r], a)
        elif r in _MAKERS:
            new = Triple(b, _MAKERS[r], a)
        else:
            continue
        if a == b or new in have:
            continue
        have.add(new)
        out.append(new)
    return out
