"""Word-level text encoding: one token per step (the paper's bAbI setup, ED Table 1).

Text is lower-cased and split into words and the punctuation tokens ``.``, ``?`` (and ``,``).
The answer marker :data:`ANSWER_TOKEN` ``-`` is input once per answer word, and the target at
that step is the answer word (the paper's 159-wide one-hot is 156 words plus ``.``, ``?``,
``-``).  A :class:`TextEpisode` holds token ids, not one-hots; :meth:`Vocabulary.one_hot` makes
the ``[T, V]`` input when a model wants it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from dnc_qa.errors import DncQaError
from dnc_qa.kb.babi_reader import Question, Story

ANSWER_TOKEN = "-"
SPECIAL_TOKENS = (".", "?", ANSWER_TOKEN)
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[.?,!]")


def tokenize(text: str) -> list[str]:
    """``"Where is Mary?" -> ["where", "is", "mary", "?"]``."""
    return _TOKEN.findall(text.lower())


@dataclass(frozen=True)
class Vocabulary:
    """An ordered, fixed token list; ids are positions.

    ``unknown``: a token (in ``tokens``) that unseen words map to; ``None`` makes an unseen
    word an error.
    """

    tokens: tuple[str, ...]
    unknown: str | None = None
    index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(set(self.tokens)) != len(self.tokens):
            raise DncQaError("vocabulary tokens must be unique")
        if self.unknown is not None and self.unknown not in self.tokens:
            raise DncQaError(f"unknown token {self.unknown!r} is not in the vocabulary")
        object.__setattr__(self, "index", {t: i for i, t in enumerate(self.tokens)})

    @classmethod
    def build(cls, texts: Iterable[str], specials: Sequence[str] = SPECIAL_TOKENS,
              unknown: str | None = None) -> Vocabulary:
        """Specials first (and ``unknown``), then the words of ``texts`` sorted."""
        words = {t for text in texts for t in tokenize(text)}
        head = list(dict.fromkeys([*specials, *([unknown] if unknown else [])]))
        return cls(tuple(head + sorted(words - set(head))), unknown)

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: object) -> bool:
        return token in self.index

    def encode(self, tokens: Sequence[str]) -> Tensor:
        """Tokens -> ``LongTensor [T]``."""
        ids = []
        for t in tokens:
            if t in self.index:
                ids.append(self.index[t])
            elif self.unknown is not None:
                ids.append(self.index[self.unknown])
            else:
                raise DncQaError(f"word {t!r} is not in the vocabulary")
        return torch.tensor(ids, dtype=torch.long)

    def decode(self, ids: Tensor | Sequence[int]) -> list[str]:
        """Ids -> tokens."""
        values = ids.tolist() if isinstance(ids, Tensor) else list(ids)
        return [self.tokens[int(i)] for i in values]

    def one_hot(self, ids: Tensor) -> Tensor:
        """``LongTensor [..., T] -> FloatTensor [..., T, V]``."""
        return torch.nn.functional.one_hot(ids, len(self)).float()

    def to_json(self) -> str:
        return json.dumps({"tokens": list(self.tokens), "unknown": self.unknown})

    @classmethod
    def from_json(cls, text: str) -> Vocabulary:
        data = json.loads(text)
        return cls(tuple(data["tokens"]), data.get("unknown"))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json() + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Vocabulary:
        return cls.from_json(Path(path).read_text(encoding="utf-8"))


@dataclass(frozen=True, eq=False)
class TextEpisode:
    """A story as one token per step.

    Attributes:
        inputs: ``LongTensor [T]`` token ids.
        targets: ``LongTensor [T]`` answer-word ids at answer steps, 0 elsewhere.
        mask: ``BoolTensor [T]`` answer steps.
        answers: per question, its answer words.
    """

    inputs: Tensor
    targets: Tensor
    mask: Tensor
    answers: tuple[tuple[str, ...], ...]

    def __len__(self) -> int:
        return int(self.inputs.shape[0])

    def decode_answers(self, vocab: Vocabulary, outputs: Tensor) -> tuple[tuple[str, ...], ...]:
        """Per question, the words read at its answer steps from ``outputs`` (``[T, V]``
        scores or ``[T]`` ids)."""
        ids = outputs.argmax(-1) if outputs.dim() == 2 else outputs
        words = vocab.decode(ids[self.mask])
        out, i = [], 0
        for answer in self.answers:
            out.append(tuple(words[i:i + len(answer)]))
            i += len(answer)
        return tuple(out)


def story_episode(story: Story, vocab: Vocabulary) -> TextEpisode:
    """Encode a bAbI story: statements and questions as tokens, then one ``-`` per answer word
    (whose target is that word)."""
    inputs: list[str] = []
    targets: list[str | None] = []
    answers = []
    for line in story.lines:
        words = tokenize(line.text)
        inputs += words
        targets += [None] * len(words)
        if isinstance(line, Question):
            answer = tuple(t for a in line.answers for t in tokenize(a))
            answers.append(answer)
            inputs += [ANSWER_TOKEN] * len(answer)
            targets += list(answer)
    ids = vocab.encode(inputs)
    mask = torch.tensor([t is not None for t in targets], dtype=torch.bool)
    target_ids = torch.zeros_like(ids)
    if mask.any():
        target_ids[mask] = vocab.encode([t for t in targets if t is not None])
    return TextEpisode(ids, target_ids, mask, tuple(answers))
