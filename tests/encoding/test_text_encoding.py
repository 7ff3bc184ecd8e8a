"""Word-level vocabulary and bAbI story episodes (one token per step)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from dnc_qa.encoding import Vocabulary, story_episode, tokenize
from dnc_qa.errors import DncQaError
from dnc_qa.kb.babi_reader import parse_babi, read_babi

BABI = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "babi" / "en"

STORY = """1 Mary moved to the bathroom.
2 John went to the hallway.
3 Where is Mary? \tbathroom\t1
4 The office is east of the hallway.
5 How do you go from the hallway to the office?\te,s\t4
"""


def test_tokenize() -> None:
    assert tokenize("Where is Mary? ") == ["where", "is", "mary", "?"]
    assert tokenize("Bob's wife.") == ["bob's", "wife", "."]


def test_vocabulary_round_trip(tmp_path: Path) -> None:
    v = Vocabulary.build(["Mary moved to the bathroom.", "Where is Mary?"])
    assert v.tokens[:3] == (".", "?", "-")
    ids = v.encode(tokenize("Where is Mary?"))
    assert v.decode(ids) == ["where", "is", "mary", "?"]
    assert v.one_hot(ids).shape == (4, len(v))
    v.save(tmp_path / "v.json")
    assert Vocabulary.load(tmp_path / "v.json") == v
    with pytest.raises(DncQaError, match="not in the vocabulary"):
        v.encode(["zebra"])
    u = Vocabulary.build(["a b"], unknown="<unk>")
    assert u.decode(u.encode(["zebra"])) == ["<unk>"]


def test_story_episode_round_trip() -> None:
    story = parse_babi(STORY)[0]
    v = Vocabulary.build([line.text for line in story.lines] + ["e s bathroom"])
    ep = story_episode(story, v)
    assert ep.answers == (("bathroom",), ("e", "s"))
    assert int(ep.mask.sum()) == 3
    assert v.decode(ep.inputs[ep.mask]) == ["-", "-", "-"]
    assert ep.decode_answers(v, ep.targets) == ep.answers
    scores = v.one_hot(ep.targets) * 5
    assert ep.decode_answers(v, scores) == ep.answers
    assert v.decode(ep.inputs[:6]) == ["mary", "moved", "to", "the", "bathroom", "."]


def test_real_babi_vocabulary_size() -> None:
    files = sorted(BABI.glob("qa*_train.txt")) + sorted(BABI.glob("qa*_test.txt"))
    if not files:
        pytest.skip("shared/data/babi/en is not present beside the repository")
    stories = [s for f in files for s in read_babi(f)]
    texts = [line.text for s in stories for line in s.lines]
    answers = [a for s in stories for q in s.questions for a in q.answers]
    v = Vocabulary.build(texts + answers)
    assert len(v) == 159  # as in the paper: 156 words plus '.', '?' and '-'
    s = read_babi(files[0])[0]
    ep = story_episode(s, v)
    assert ep.decode_answers(v, ep.targets) == tuple(
        tuple(t for a in q.answers for t in tokenize(a)) for q in s.questions)
    assert torch.all(ep.inputs[ep.mask] == v.index["-"])
