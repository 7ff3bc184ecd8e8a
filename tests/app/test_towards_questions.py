"""Questions that name a line's direction by a station ("take the Red line towards Cedar"),
on node-link maps whose lines are named by their terminals and on maps with compass labels,
through ``dncqa ingest`` and ``dncqa ask --json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dnc_qa.app.queries import Step, TraversalQuery
from dnc_qa.app.questions import Vocabulary, parse_question
from tests.graphs.test_nodelink_transit import run_cli, write_map

# Red runs north from Alder to Cedar; Blue east from Elm through Birch and Fir to Gorse.
XY = {"Alder": (0, 0), "Birch": (0, 1), "Cedar": (0, 2), "Elm": (-1, 1), "Fir": (1, 1),
      "Gorse": (2, 1)}
LINES = {"Red": ["Alder", "Birch", "Cedar"], "Blue": ["Elm", "Birch", "Fir", "Gorse"]}


@pytest.fixture
def home(tmp_path: Path, capsys: pytest.CaptureFixture[str],
         monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace holding the map without coordinates as ``plain`` and with them as
    ``compass``."""
    monkeypatch.setenv("DNCQA_HOME", str(tmp_path / "home"))
    plain = write_map(tmp_path / "plain.json", [{"id": n} for n in XY], LINES)
    compass = write_map(tmp_path / "compass.json",
                        [{"id": n, "x": x, "y": y} for n, (x, y) in XY.items()], LINES)
    for name, path in (("plain", plain), ("compass", compass)):
        code, _, err = run_cli(["ingest", str(path), "--name", name, "--model", "none"], capsys)
        assert code == 0, err
    return tmp_path / "home"


def ask(question: str, graph: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    code, out, err = run_cli(["ask", question, "--graph", graph, "--json"], capsys)
    assert code == 0, err
    return json.loads(out)


def ask_error(question: str, graph: str, capsys: pytest.CaptureFixture[str]) -> str:
    code, _, err = run_cli(["ask", question, "--graph", graph], capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, (code, err)
    return lines[0]


def path_of(result: dict[str, Any]) -> list[str]:
    """The stations of the exact answer's path, start first."""
    exact = result["exact"]
    return [exact[0][0]] + [b for _, _, b in exact]


@pytest.mark.parametrize("question", [
    "from Alder take the Red line towards Cedar for 2 stops",
    "from Alder take Red towards Cedar for 2 stops",
    "from Alder take the Red line toward Cedar, 2 stops",
    "from Alder go 2 stops towards Cedar on the Red line",
    "from Alder take 2 stops on the Red line towards Cedar",
    "from Alder take the Red line in the direction of Cedar for 2 stops",
    "start at Alder and follow the Red line towards Cedar for 2 stops",
])
def test_the_line_towards_its_terminal(question: str, home: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    result = ask(question, "plain", capsys)
    assert result["query"]["steps"] == [["Red", "towards Cedar"]] * 2
    assert result["exact"] == [["Alder", "Red towards Cedar", "Birch"],
                               ["Birch", "Red towards Cedar", "Cedar"]]


def test_a_station_before_the_terminal_picks_the_way_there(
        home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = ask("from Elm take the Blue line towards Fir for 2 stops", "plain", capsys)
    assert result["query"]["labels"] == ["Blue towards Gorse"] * 2  # the leg keeps its way
    assert path_of(result) == ["Elm", "Birch", "Fir"]
    result = ask("from Gorse take the Blue line towards Birch", "plain", capsys)
    assert result["query"]["labels"] == ["Blue towards Elm"]
    assert path_of(result) == ["Gorse", "Fir"]
    # each leg from where the walk is: Alder -> Birch on Red, then east on Blue
    result = ask("from Alder take the Red line towards Birch then the Blue line towards Fir",
                 "plain", capsys)
    assert result["query"]["labels"] == ["Red towards Cedar", "Blue towards Gorse"]
    assert path_of(result) == ["Alder", "Birch", "Fir"]


def test_compass_lines_take_the_direction_that_leads_there(
        home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = ask("from Alder take the Red line towards Cedar for 2 stops", "compass", capsys)
    assert result["query"]["steps"] == [["Red", "N"]] * 2
    assert path_of(result) == ["Alder", "Birch", "Cedar"]
    result = ask("from Gorse take the Blue line towards Birch for 2 stops", "compass", capsys)
    assert result["query"]["labels"] == ["Blue W"] * 2
    assert path_of(result) == ["Gorse", "Fir", "Birch"]


@pytest.mark.parametrize("graph", ["plain", "compass"])
def test_a_station_off_the_line_names_its_terminals(graph: str, home: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    line = ask_error("from Alder take the Red line towards Fir", graph, capsys)
    assert "'Fir' is not on the Red line (it runs between 'Alder' and 'Cedar')" in line
    line = ask_error("from Elm take the Red line towards Birch", graph, capsys)
    assert "'Elm' is not on the Red line (it runs between 'Alder' and 'Cedar')" in line
    line = ask_error("from Alder take the Red line towards Cedr", graph, capsys)
    assert "did you mean 'Cedar'" in line


def test_terminal_labels_make_lines() -> None:
    labels = ["Red towards Alder", "Red towards Cedar", "flows towards", "runs towards sea"]
    vocab = Vocabulary.from_names(["Alder", "Birch", "Cedar"], labels, graph="m")
    assert vocab.lines is not None and vocab.lines.names == ["Red"]
    assert vocab.directions == {"Red": {"towards Alder", "towards Cedar"}}
    # without the graph a terminal is asked for by its label, or by the line and its name
    query = parse_question("start at Alder and follow Red towards Cedar", vocab)
    assert query == TraversalQuery("Alder", (Step("Red", "towards Cedar"),))
    assert parse_question("from Alder take the Red line towards Cedar", vocab) == query
