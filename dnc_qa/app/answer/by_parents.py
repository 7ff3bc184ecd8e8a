"""Walks that step down to children, answered by asking every candidate for their parents.

A traversal model follows one edge per hop: asked ``(Eli, son, _)`` when Eli has three sons,
its read blends three triples and it names one of them, or nobody. A child hop is many-valued;
a parent hop is not (everyone has one father and one mother). So a walk whose hops after some
point are all child hops (``son``, ``daughter``) is answered upside down:

* the hops before the first child hop (``father`` in "sister" = father, daughter) are asked
  forward in one query, as any walk; where they end is the *anchor*;
* every person of the sex the last hop names (a ``daughter`` is a woman) is asked the parent
  walk back up (for "grandson" = son, son from Eli: ``father`` then ``father``, the parents'
  sexes read off the hops: a ``son`` is a father's or mother's son, the first parent is the
  anchor's sex), in one query each, from the same stored memory;
* the people whose walk ends at the anchor, by a simple path, with confidence at least
  :data:`ACCEPT`, are the answer.

Every hop is the model's own answer; the code enumerates the people and compares where the
model's walks end. The sexes come from the stored graph (node attributes, or the labels of
edges into a person), as for the exact answer. Where a sex is unknown, or the graph has no
``father``/``mother`` labels, :func:`parent_walk_plan` returns ``None`` and the walk is asked
forward as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from dnc_qa.app.answer.runner import ModelAnswer, Runner
from dnc_qa.app.answer.traversal import answer_traversal
from dnc_qa.app.codec import LabelMap
from dnc_qa.app.kinship import KIN_OF_LABEL, SEX_OF_LABEL
from dnc_qa.app.queries import Step, TraversalQuery

if TYPE_CHECKING:
    from dnc_qa.app.kinship import Sex

PARENT_LABEL = {"M": "father", "F": "mother"}
NOTE = "a child hop can lead to several people: each candidate was asked for their parents"
ACCEPT = 0.5
"""A candidate counts when the model's parent walk ends at the anchor with at least this
confidence: walks over parents that exist come out at 0.8-1.0, walks the graph has no edges
for (the father of someone who married into the family) mostly well below it."""


@dataclass(frozen=True)
class ParentWalkPlan:
    """How to answer one walk by parents.

    Attributes:
        forward: the hops before the first child hop (asked forward; may be empty).
        upward: the parent labels each candidate is asked, from the candidate up to the anchor.
        sex: the sex of the people the walk ends at (candidates).
    """

    forward: tuple[str, ...]
    upward: tuple[str, ...]
    sex: Sex


def parent_walk_plan(walk: tuple[str, ...], person_sex: Sex | None,
                     edge_names: set[str]) -> ParentWalkPlan | None:
    """The plan for ``walk`` from a person of sex ``person_sex``, or ``None`` when it has
    no child hop, a hop after a child hop is not one, a sex on the way is unknown, or a
    parent label it needs is not in ``edge_names``."""
    kinds = [KIN_OF_LABEL.get(label) for label in walk]
    if "child" not in kinds:
        return None
    first = kinds.index("child")
    if any(k != "child" for k in kinds[first:]):
        return None
    # the sex of every node from the anchor down: the anchor's from the hop into it
    sexes: list[Sex | None] = [person_sex if first == 0 else SEX_OF_LABEL.get(walk[first - 1])]
    sexes += [SEX_OF_LABEL.get(label) for label in walk[first:]]
    if any(s is None for s in sexes):
        return None
    upward = tuple(PARENT_LABEL[s] for s in reversed(sexes[:-1]))  # type: ignore[index]
    if not set(upward) <= edge_names:
        return None
    return ParentWalkPlan(tuple(walk[:first]), upward, sexes[-1])  # type: ignore[arg-type]


def answer_by_parents(runner: Runner, labels: LabelMap, person: str, plan: ParentWalkPlan,
                      sexes: dict[str, Sex], cache: dict[tuple[str, tuple[str, ...]],
                                                     ModelAnswer] | None = None
                      ) -> tuple[list[str], float, str]:
    """The people ``plan`` reaches from ``person``: ``(people, confidence, note)``.

    ``confidence`` is the least of the model's confidences in the forward hops and in the
    accepted people's parent walks; with nobody accepted, the forward hops' confidence, or
    without forward hops the mean confidence of the candidates' walks. ``cache`` shares
    parent walks between plans (keyed by candidate and labels)."""
    cache = {} if cache is None else cache
    stored = runner.state
    anchor, path, confidence = person, [person], 1.0
    if plan.forward:
        hop = Runner(runner.model, stored, runner.edges)
        ahead = answer_traversal(hop, labels, TraversalQuery(person, tuple(
            Step(k) for k in plan.forward)))
        runner.absorb(hop)
        if ahead.answer is None:
            return [], ahead.confidence or 0.0, ahead.note
        path = list(ahead.answer.nodes)
        anchor, confidence = path[-1], ahead.confidence or 0.0
    found, asked = [], []
    for candidate in sorted(labels.nodes):
        if sexes.get(candidate) != plan.sex or candidate in path:
            continue
        key = (candidate, plan.upward)
        if key not in cache:
            up = Runner(runner.model, stored, runner.edges)
            cache[key] = answer_traversal(up, labels, TraversalQuery(candidate, tuple(
                Step(k) for k in plan.upward)))
            runner.absorb(up)
        result = cache[key]
        sure = result.confidence or 0.0
        asked.append(sure)
        if result.answer is None or sure < ACCEPT:
            continue
        nodes = list(result.answer.nodes)
        if nodes[-1] == anchor and len(set(nodes + path[:-1])) == len(nodes) + len(path) - 1:
            found.append(candidate)
            confidence = min(confidence, sure)
    if not found and not plan.forward:
        confidence = sum(asked) / len(asked) if asked else 0.0
    return found, confidence, NOTE
