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
  :data:`ACCEPT`, are the answer;
* hops after the child hops that lead to one person each (a spouse or a parent: "son-in-law"
  = daughter, husband) are then asked forward from each person found, in one query each;
  where those walks end (simple paths) is the answer. No confidence floor here: a person
  the graph gives no spouse mostly gets an answer that names nobody, while a one-hop walk
  that exists can come out at low confidence in one memory and is voted on over several
  (``dncqa ask --views``).

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
SPOUSE_LABEL = {"M": "husband", "F": "wife"}  # the label of an edge into a person of that sex
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
        sex: the sex of the people the child hops end at (candidates).
        after: the one-valued hops (spouse, parent) after the child hops, asked forward
            from each person found (may be empty).
    """

    forward: tuple[str, ...]
    upward: tuple[str, ...]
    sex: Sex
    after: tuple[str, ...] = ()


ONE_VALUED = ("spouse", "parent")
"""Hops that lead to at most one person of the named sex (a husband, a mother)."""


def parent_walk_plan(walk: tuple[str, ...], person_sex: Sex | None,
                     edge_names: set[str]) -> ParentWalkPlan | None:
    """The plan for ``walk`` from a person of sex ``person_sex``, or ``None`` when it has
    no child hop, a hop after the child hops leads to several people (a sibling, another
    child), a sex on the way is unknown, or a parent label it needs is not in
    ``edge_names``."""
    kinds = [KIN_OF_LABEL.get(label) for label in walk]
    if "child" not in kinds:
        return None
    first = kinds.index("child")
    last = first
    while last + 1 < len(walk) and kinds[last + 1] == "child":
        last += 1
    if any(k not in ONE_VALUED for k in kinds[last + 1:]):
        return None
    # the sex of every node from the anchor down: the anchor's from the hop into it
    sexes: list[Sex | None] = [person_sex if first == 0 else SEX_OF_LABEL.get(walk[first - 1])]
    sexes += [SEX_OF_LABEL.get(label) for label in walk[first:last + 1]]
    if any(s is None for s in sexes):
        return None
    upward = tuple(PARENT_LABEL[s] for s in reversed(sexes[:-1]))  # type: ignore[index]
    if not set(upward) <= edge_names:
        return None
    return ParentWalkPlan(tuple(walk[:first]), upward, sexes[-1],  # type: ignore[arg-type]
                          tuple(walk[last + 1:]))


def answer_by_parents(runner: Runner, labels: LabelMap, person: str, plan: ParentWalkPlan,
                      sexes: dict[str, Sex], cache: dict[tuple[str, tuple[str, ...]],
                                                     ModelAnswer] | None = None
                      ) -> tuple[list[str], float, str]:
    """The people ``plan`` reaches from ``person``: ``(people, confidence, note)``.

    ``confidence`` is the least of the model's confidences in the forward hops and in the
    accepted people's parent walks (and in the hops after them); with nobody accepted, the
    forward hops' confidence, or without forward hops the mean confidence of the
    candidates' walks. ``cache`` shares walks between plans (keyed by person and labels);
    every walk is asked of the runner's stored memory, and its steps are recorded on the
    runner."""
    cache = {} if cache is None else cache
    anchor, path, confidence = person, [person], 1.0
    if plan.forward:
        ahead = ask_walk(runner, labels, person, plan.forward, cache)
        if ahead.answer is None:
            return [], ahead.confidence or 0.0, ahead.note
        path = list(ahead.answer.nodes)
        anchor, confidence = path[-1], ahead.confidence or 0.0
    found, asked = [], []
    for candidate in sorted(labels.nodes):
        if sexes.get(candidate) != plan.sex or candidate in path:
            continue
        result = ask_walk(runner, labels, candidate, plan.upward, cache)
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
    if not plan.after:
        return found, confidence, NOTE
    ends: list[str] = []
    for person_found in found:
        walked, here = path + [person_found], person_found
        for label in plan.after:
            here, sure = _one_valued_hop(runner, labels, here, label, sexes, cache)
            if here is None or here in walked:  # nobody, or not a simple walk
                break
            walked.append(here)
            confidence = min(confidence, sure)
        else:
            if here not in ends:
                ends.append(here)
    after = " then ".join(plan.after)
    return ends, confidence, NOTE + f", then each person found asked {after}"


def ask_walk(runner: Runner, labels: LabelMap, person: str, walk: tuple[str, ...],
              cache: dict[tuple[str, tuple[str, ...]], ModelAnswer]) -> ModelAnswer:
    """The model's answer to the walk ``walk`` from ``person``, in one query from the
    runner's stored memory (its own state: :meth:`Runner.absorb` only records steps), cached
    by person and walk."""
    key = (person, walk)
    if key not in cache:
        one = Runner(runner.model, runner.state, runner.edges)
        cache[key] = answer_traversal(one, labels, TraversalQuery(person, tuple(
            Step(k) for k in walk)))
        runner.absorb(one)
    return cache[key]


def _one_valued_hop(runner: Runner, labels: LabelMap, person: str, label: str,
                    sexes: dict[str, Sex], cache: dict) -> tuple[str | None, float]:
    """Where the one-valued hop ``label`` (a spouse or a parent) leads from ``person``, and
    the model's confidence: asked forward; for a spouse hop the model is unsure of, also
    the other way round: every person of the spouse's sex is asked for their spouse, and
    the one whose answer is ``person`` is taken. ``(None, 0.0)`` when neither way names
    anyone with confidence at least :data:`ACCEPT`."""
    result = ask_walk(runner, labels, person, (label,), cache)
    sure = result.confidence or 0.0
    if result.answer is not None and sure >= ACCEPT:
        return result.answer.nodes[-1], sure
    if KIN_OF_LABEL.get(label) != "spouse" or sexes.get(person) not in SPOUSE_LABEL:
        return None, 0.0
    inverse = SPOUSE_LABEL[sexes[person]]  # the label of the edge from the spouse back
    target_sex = SEX_OF_LABEL.get(label)
    if inverse not in labels.edges or target_sex is None:
        return None, 0.0
    matches = []
    for candidate in sorted(labels.nodes):
        if candidate == person or sexes.get(candidate) != target_sex:
            continue
        back = ask_walk(runner, labels, candidate, (inverse,), cache)
        if (back.answer is not None and back.answer.nodes[-1] == person
                and (back.confidence or 0.0) >= ACCEPT):
            matches.append((candidate, back.confidence or 0.0))
    if len(matches) != 1:
        return None, 0.0
    return matches[0]
