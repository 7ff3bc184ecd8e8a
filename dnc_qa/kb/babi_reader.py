"""Reader for the bAbI tasks (Weston et al. 2015), files ``qaN_<name>_{train,test}.txt``.

Each line is ``ID text``; ``ID`` restarts at 1 with each new story.  A question line is
``ID question?<TAB>answer<TAB>supporting ids`` where ``answer`` may list several words
separated by commas (tasks 8 and 19) and the supporting ids are space-separated line ids.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from dnc_qa.graphs.errors import GraphFormatError, line_col
from dnc_qa.graphs.limits import DEFAULT_LIMITS, Limits, read_text

FILE_PATTERN = re.compile(r"^qa(\d+)_([a-z0-9-]+)_(train|test)\.txt$")


class KbFormatError(GraphFormatError):
    """A knowledge-base or bAbI file cannot be used (file and line are named)."""


class Statement(NamedTuple):
    """A story sentence and its line id."""

    id: int
    text: str


class Question(NamedTuple):
    """A question, its answer words, and the ids of the statements that support it."""

    id: int
    text: str
    answers: tuple[str, ...]
    supporting: tuple[int, ...]


@dataclass(frozen=True)
class Story:
    """One story: statements and questions in file order."""

    task: int
    lines: tuple[Statement | Question, ...]
    first_line: int

    @property
    def questions(self) -> tuple[Question, ...]:
        return tuple(x for x in self.lines if isinstance(x, Question))

    @property
    def statements(self) -> tuple[Statement, ...]:
        return tuple(x for x in self.lines if isinstance(x, Statement))

    def supporting_facts(self, question: Question) -> tuple[Statement, ...]:
        """The statements a question names as its support."""
        by_id = {s.id: s for s in self.statements}
        return tuple(by_id[i] for i in question.supporting)


class BabiFile(NamedTuple):
    """A bAbI file found on disk."""

    task: int
    name: str
    split: str
    path: Path


def parse_babi(text: str, path: Path | None = None, task: int = 0) -> list[Story]:
    """Parse bAbI text into stories; malformed lines raise :class:`KbFormatError`."""
    stories: list[Story] = []
    current: list[Statement | Question] = []
    first = 1
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        place = line_col(number)
        head, _, rest = raw.partition(" ")
        if not head.isdigit() or not rest.strip():
            raise KbFormatError("expected 'ID text' with a numeric ID", path=path, place=place)
        line_id = int(head)
        if line_id == 1 and current:
            stories.append(Story(task, tuple(current), first))
            current = []
        if line_id == 1:
            first = number
        expected = len(current) + 1
        if line_id != expected:
            raise KbFormatError(f"line id {line_id} out of order (expected {expected})",
                                path=path, place=place)
        if "\t" in rest:
            parts = rest.split("\t")
            if len(parts) < 2 or not parts[1].strip():
                raise KbFormatError("question without an answer", path=path, place=place)
            support = parts[2].split() if len(parts) > 2 else []
            if not all(s.isdigit() for s in support):
                raise KbFormatError(f"supporting facts must be line ids, not {parts[2]!r}",
                                    path=path, place=place)
            ids = tuple(int(s) for s in support)
            known = {x.id for x in current if isinstance(x, Statement)}
            if any(i not in known for i in ids):
                raise KbFormatError(f"supporting fact {ids} is not an earlier statement",
                                    path=path, place=place)
            answers = tuple(a.strip() for a in parts[1].split(",") if a.strip())
            current.append(Question(line_id, parts[0].strip(), answers, ids))
        else:
            current.append(Statement(line_id, rest.strip()))
    if current:
        stories.append(Story(task, tuple(current), first))
    return stories


def read_babi(path: str | Path, limits: Limits = DEFAULT_LIMITS) -> list[Story]:
    """Read one bAbI file (the task number comes from its name when it matches the pattern)."""
    p = Path(path)
    match = FILE_PATTERN.match(p.name)
    return parse_babi(read_text(p, limits), p, int(match[1]) if match else 0)


def babi_files(root: str | Path, split: str | None = None) -> list[BabiFile]:
    """The ``qaN_<name>_<split>.txt`` files under ``root``, sorted by task then split."""
    found = []
    for p in Path(root).glob("qa*_*.txt"):
        m = FILE_PATTERN.match(p.name)
        if m and (split is None or m[3] == split):
            found.append(BabiFile(int(m[1]), m[2], m[3], p))
    return sorted(found, key=lambda f: (f.task, f.split))


def iter_questions(stories: list[Story]) -> Iterator[tuple[Story, Question]]:
    """Every (story, question) pair."""
    for story in stories:
        for q in story.questions:
            yield story, q
