"""``dncqa ask --file``: a file of questions, one answer (or error) each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dnc_qa.app.ask import ask_many, read_questions
from dnc_qa.app.ingest import IngestOptions, ingest
from dnc_qa.app.workspace import Workspace
from dnc_qa.errors import DncQaError
from dnc_qa.graphs.io import write_graph
from tests.cli.test_app_cli import assert_user_error, run, tube


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("askfile")
    write_graph(tube(), folder / "tube.json")
    ingest(folder / "tube.json", IngestOptions(name="london", model="none"),
           Workspace(folder / "home"))
    (folder / "q.txt").write_text(
        "# questions\n\nwhich stations are next to Bank\n"
        "what is the meaning of life\n  shortest path from Holborn to Bank  \n",
        encoding="utf-8")
    return folder


def test_json_lines(home: Path) -> None:
    proc = run(home / "home", "ask", "--file", str(home / "q.txt"), "--json")
    assert proc.returncode == 2, proc.stderr
    rows = [json.loads(x) for x in proc.stdout.splitlines()]
    assert [r["line"] for r in rows] == [3, 4, 5]
    assert rows[0]["query"] == {"type": "neighbours", "node": "Bank"}
    assert "cannot parse" in rows[1]["error"] and "query" not in rows[1]
    assert rows[2]["exact"] == [["Holborn", "Central E", "St. Paul's"],
                                ["St. Paul's", "Central E", "Bank"]]


def test_text_and_all_answered(home: Path, tmp_path: Path) -> None:
    proc = run(home / "home", "ask", "--file", str(home / "q.txt"))
    assert proc.returncode == 2
    assert proc.stdout.count("exact:") == 2 and "error:      cannot parse" in proc.stdout
    good = tmp_path / "good.txt"
    good.write_text("which stations are next to Bank\n", encoding="utf-8")
    ok = run(home / "home", "ask", "--file", str(good), "--json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["line"] == 1


def test_missing_file_and_misuse(home: Path, tmp_path: Path) -> None:
    assert_user_error(run(home / "home", "ask", "--file", str(tmp_path / "nope.txt")),
                      "nope.txt", "no such file")
    assert_user_error(run(home / "home", "ask", "neighbours of Bank", "--file",
                          str(home / "q.txt")), "--file")
    assert_user_error(run(home / "home", "ask"), "--file")


def test_library(home: Path) -> None:
    assert read_questions(home / "q.txt")[0] == (3, "which stations are next to Bank")
    with pytest.raises(DncQaError):
        read_questions(home / "missing.txt")
    out = list(ask_many(["neighbours of Bank", "nonsense here"], "london",
                        Workspace(home / "home")))
    assert out[0].error is None and out[0].to_json()["line"] == 1
    assert out[1].error is not None and out[1].to_json()["line"] == 2


def test_graph_ask_many(home: Path) -> None:
    import dnc_qa

    g = dnc_qa.open_graph("london", home=home / "home")
    out = g.ask_many(["neighbours of Bank", "what is the meaning of life"])
    assert isinstance(out[0], dnc_qa.Answer) and "St. Paul's" in out[0].exact
    assert isinstance(out[1], str) and "cannot parse" in out[1]
