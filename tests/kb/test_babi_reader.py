"""bAbI reader: stories, questions, answers, supporting facts; malformed lines named."""

from __future__ import annotations

from pathlib import Path

import pytest

from dnc_qa.kb.babi_reader import KbFormatError, Question, babi_files, parse_babi, read_babi

BABI = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "babi"

TEXT = """1 Mary moved to the bathroom.
2 John went to the hallway.
3 Where is Mary? \tbathroom\t1
1 The office is east of the hallway.
2 The kitchen is north of the office.
3 How do you go from the kitchen to the hallway?\ts,w\t2 1
"""


def test_parse_stories() -> None:
    stories = parse_babi(TEXT, task=19)
    assert len(stories) == 2
    q = stories[1].questions[0]
    assert q == Question(3, "How do you go from the kitchen to the hallway?", ("s", "w"), (2, 1))
    assert [s.id for s in stories[1].supporting_facts(q)] == [2, 1]
    assert stories[0].questions[0].answers == ("bathroom",)
    assert stories[1].first_line == 4 and stories[1].task == 19


@pytest.mark.parametrize(("text", "fragment"), [
    ("x Mary moved.\n", "line 1: expected 'ID text'"),
    ("1 Mary moved.\n3 John went.\n", "line 2: line id 3 out of order"),
    ("1 Mary moved.\n2 Where is Mary?\t\t1\n", "line 2: question without an answer"),
    ("1 Mary moved.\n2 Where is Mary?\tkitchen\t7\n", "line 2: supporting fact"),
    ("1 Mary moved.\n2 Where is Mary?\tkitchen\tone\n", "must be line ids"),
])
def test_malformed(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "qa1_bad_train.txt"
    path.write_text(text)
    with pytest.raises(KbFormatError) as info:
        read_babi(path)
    assert fragment in str(info.value) and str(path) in str(info.value)


def test_real_files() -> None:
    files = babi_files(BABI / "en", split="test")
    if not files:
        pytest.skip("shared/data/babi is not present beside the repository")
    assert len(files) == 20 and [f.task for f in files] == list(range(1, 21))
    qa1 = read_babi(next(f.path for f in files if f.task == 1))
    assert sum(len(s.questions) for s in qa1) == 1000
    qa19 = read_babi(next(f.path for f in files if f.task == 19))
    assert all(len(q.answers) == 2 and len(q.supporting) == 2 for s in qa19 for q in s.questions)
