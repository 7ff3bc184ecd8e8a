"""``dncqa ingest facts.txt`` + ``dncqa ask ... --json`` on a text knowledge base, as a user
runs them: skipped sentences reported (console, ``--json``), ``--strict``, unreadable files
refused in one line; one-relation questions (verbs in any tense, passives, inverse facts)
answered exactly.

Most commands run in this process through the console-script entry point
(:func:`dnc_qa.cli.main.main`: the same parsing, output and exit statuses); one ingest and one
ask run in a subprocess, end to end.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import NamedTuple
from unittest import mock

import pytest

from dnc_qa.cli.main import main

ROOT = Path(__file__).resolve().parents[2]

# Invented people, places and works; every sentence is in a form the extractor reads.
FACTS = """\
# Invented people, places and works.
Orla Venn wrote The Glass Harbour.
The Salt Orchard was written by Orla Venn.
Tobin Marsh painted The Quiet Mill.
Tobin Marsh lives in Dunmere.
Orla Venn lives in Carrowby.
Orla Venn was born in Westfold.
Dunmere is the capital of Larkland.
Carrowby is in Larkland.
Maeve Quill composed The Winter Canticle.
Maeve Quill is the mother of Pell Quill.
Pell Quill likes apples.
Ines Dorrow founded the Dorrow Academy.
Ines Dorrow is married to Tobin Marsh.
The Lantern Bridge was built by Ferris Kell.
Ferris Kell teaches at the Dorrow Academy.
"""

# Two sentences no form reads, between readable ones.
MIXED = """\
Orla Venn wrote The Glass Harbour.
Orla Venn is tall.
Tobin Marsh lives in Dunmere.
They like pears. Pell Quill likes apples.
"""


class Run(NamedTuple):
    code: int
    out: str
    err: str


def dncqa(home: Path, *args: str) -> Run:
    """``dncqa ARGS`` in this process, with ``$DNCQA_HOME`` = ``home``."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with mock.patch.dict(os.environ, {"DNCQA_HOME": str(home)}), \
            redirect_stdout(out), redirect_stderr(err):
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return Run(code, out.getvalue(), err.getvalue())


def assert_one_line_error(run: Run, *fragments: str) -> str:
    assert run.code == 2, run
    lines = run.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in run.err, run.err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("kbfiles")
    (folder / "facts.txt").write_text(FACTS)
    (folder / "mixed.txt").write_text(MIXED)
    (folder / "nothing.txt").write_text("Orla Venn is tall.\nThey like pears.\nWho is Orla?\n")
    return folder


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, files: Path) -> Path:
    """A workspace holding ``kb``: :data:`FACTS`, exact answers only."""
    home = tmp_path_factory.mktemp("home")
    run = dncqa(home, "ingest", str(files / "facts.txt"), "--name", "kb", "--model", "none",
                "--json")
    assert run.code == 0, run
    stored = json.loads(run.out)
    assert stored["name"] == "kb" and stored["unread"] == []
    return home


@pytest.mark.parametrize(("question", "exact"), [
    ("who wrote The Glass Harbour", ["Orla Venn"]),
    ("who wrote The Salt Orchard", ["Orla Venn"]),  # stated in the passive
    ("what did Orla Venn write", ["Glass Harbour", "Salt Orchard"]),
    ("who is the author of The Salt Orchard", ["Orla Venn"]),  # an inverse fact
    ("who painted The Quiet Mill", ["Tobin Marsh"]),
    ("who is the painter of The Quiet Mill", ["Tobin Marsh"]),
    ("where does Tobin Marsh live", ["Dunmere"]),
    ("who lives in Carrowby", ["Orla Venn"]),
    ("where was Orla Venn born", ["Westfold"]),
    ("what is the capital of Larkland", ["Dunmere"]),
    ("who composed The Winter Canticle", ["Maeve Quill"]),
    ("who is the mother of Pell Quill", ["Maeve Quill"]),
    ("what does Pell Quill like", ["apples"]),
    ("who founded the Dorrow Academy", ["Ines Dorrow"]),
    ("who built The Lantern Bridge", ["Ferris Kell"]),  # irregular: built -> build
    ("who is the builder of the Lantern Bridge", ["Ferris Kell"]),
    ("what did Ferris Kell build", ["Lantern Bridge"]),
    ("where does Ferris Kell teach", ["Dorrow Academy"]),
    ("who teaches at the Dorrow Academy", ["Ferris Kell"]),
])
def test_one_relation_questions(home: Path, question: str, exact: list[str]) -> None:
    run = dncqa(home, "ask", question, "--graph", "kb", "--json")
    assert run.code == 0, run
    answer = json.loads(run.out)
    assert answer["query"]["type"] == "fact", answer
    assert sorted(answer["exact"]) == exact, answer


def test_ingest_and_ask_in_a_subprocess(tmp_path: Path, files: Path) -> None:
    env = {**os.environ, "DNCQA_HOME": str(tmp_path / "home")}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "dnc_qa.cli.main", *args],
                              capture_output=True, text=True, env=env, cwd=ROOT, timeout=180)

    ingest = cli("ingest", str(files / "facts.txt"), "--name", "kb", "--model", "none")
    assert ingest.returncode == 0, ingest.stderr
    assert "stored 'kb'" in ingest.stdout and "skipped" not in ingest.stdout
    ask = cli("ask", "who wrote The Glass Harbour", "--graph", "kb", "--json")
    assert ask.returncode == 0, ask.stderr
    answer = json.loads(ask.stdout)
    assert answer["query"] == {"type": "fact", "subject": "Glass Harbour", "relation": "write",
                               "inverse": True}
    assert answer["exact"] == ["Orla Venn"]


def test_unread_sentences_are_skipped_and_counted(tmp_path: Path, files: Path) -> None:
    run = dncqa(tmp_path, "ingest", str(files / "mixed.txt"), "--model", "none")
    assert run.code == 0, run
    assert "stored 'mixed'" in run.out
    assert ("skipped 2 sentences that cannot be read (all of them with --json):\n"
            "  line 2: 'Orla Venn is tall.'\n"
            "  line 4: 'They like pears.'\n") in run.out
    ask = dncqa(tmp_path, "ask", "who wrote The Glass Harbour", "--json")
    assert json.loads(ask.out)["exact"] == ["Orla Venn"]
    # --allow-unread is the default behaviour, still accepted
    again = dncqa(tmp_path, "ingest", str(files / "mixed.txt"), "--model", "none",
                  "--allow-unread")
    assert again.code == 0 and "skipped 2 sentences" in again.out, again


def test_json_lists_every_unread_sentence(tmp_path: Path, files: Path) -> None:
    run = dncqa(tmp_path, "ingest", str(files / "mixed.txt"), "--model", "none", "--json")
    assert run.code == 0, run
    stored = json.loads(run.out)  # stdout is the JSON object only
    assert stored["unread"] == [
        {"line": 2, "sentence": "Orla Venn is tall.", "reason": "no sentence form matches"},
        {"line": 4, "sentence": "They like pears.", "reason": "no sentence form matches"},
    ]
    assert stored["edges"] > 0


def test_console_shows_the_first_few_escaped_and_cut(tmp_path: Path) -> None:
    kb = tmp_path / "noisy.txt"
    long = "Orla is \x1b[31mred " + "very " * 60 + "tall."
    kb.write_text("Orla Venn wrote The Glass Harbour.\n" + long + "\n"
                  + "".join(f"Orla is tall {i}.\n" for i in range(5)))
    run = dncqa(tmp_path, "ingest", str(kb), "--model", "none")
    assert run.code == 0, run
    lines = run.out.splitlines()
    start = lines.index("skipped 6 sentences that cannot be read (all of them with --json):")
    shown = lines[start + 1:start + 5]
    assert shown[0].startswith("  line 2: 'Orla is \\x1b[31mred very ")
    assert shown[0].endswith("more characters)") and len(shown[0]) < 120
    assert shown[1:] == ["  line 3: 'Orla is tall 0.'", "  line 4: 'Orla is tall 1.'",
                         "  and 3 more"]
    assert "\x1b" not in run.out
    listed = json.loads(dncqa(tmp_path, "ingest", str(kb), "--model", "none", "--json").out)
    assert [u["line"] for u in listed["unread"]] == [2, 3, 4, 5, 6, 7]
    assert listed["unread"][0]["sentence"] == long


def test_strict_refuses_any_unread_sentence(tmp_path: Path, files: Path) -> None:
    run = dncqa(tmp_path, "ingest", str(files / "mixed.txt"), "--model", "none", "--strict")
    assert_one_line_error(run, "mixed.txt: line 2: 2 of 5 sentences cannot be read",
                          "(line 2: 'Orla Venn is tall.'; line 4: 'They like pears.')",
                          "rephrase them, or leave out --strict to skip them")
    assert run.out == ""
    assert "mixed" not in dncqa(tmp_path, "list").out  # nothing stored
    ok = dncqa(tmp_path, "ingest", str(files / "facts.txt"), "--model", "none", "--strict")
    assert ok.code == 0 and "skipped" not in ok.out, ok
    both = dncqa(tmp_path, "ingest", str(files / "mixed.txt"), "--strict", "--allow-unread")
    assert_one_line_error(both, "--strict", "--allow-unread")


@pytest.mark.parametrize("flag", [[], ["--strict"], ["--allow-unread"], ["--json"]])
def test_a_file_with_no_readable_sentence_is_an_error(tmp_path: Path, files: Path,
                                                      flag: list[str]) -> None:
    run = dncqa(tmp_path, "ingest", str(files / "nothing.txt"), "--model", "none", *flag)
    assert_one_line_error(run, "none of the 3 sentence(s) can be read",
                          "line 1: 'Orla Venn is tall.'")
    assert run.out == ""


def test_ingest_help_describes_the_default() -> None:
    run = dncqa(Path("."), "ingest", "--help")
    assert run.code == 0
    text = " ".join(run.out.replace("\u2502", " ").split())  # without the panels' borders
    assert "Sentences that cannot be read are skipped" in text
    assert "--strict" in text and "The default; kept for scripts." in text
