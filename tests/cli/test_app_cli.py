"""``dncqa ingest / ask / list / show / remove`` run as a user would, in a subprocess.

Every bad input must end with exit status 2, one line on stderr and no traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

from dnc_qa.app.ingest import IngestOptions, ingest
from dnc_qa.app.workspace import Workspace
from dnc_qa.graphs.io import write_graph

ROOT = Path(__file__).resolve().parents[2]


def run(home: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DNCQA_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "dnc_qa.cli.main", *args], capture_output=True,
                          text=True, env=env, timeout=timeout, cwd=ROOT)


def assert_user_error(proc: subprocess.CompletedProcess[str], *fragments: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def tube() -> nx.MultiDiGraph:
    g = nx.MultiDiGraph()
    line = ["Oxford Circus", "Holborn", "St. Paul's", "Bank", "Edgware Road (Circle)"]
    for a, b in zip(line, line[1:], strict=False):
        g.add_edge(a, b, key="Central E", label="Central E")
        g.add_edge(b, a, key="Central W", label="Central W")
    g.add_edge("Bank", "Edgware Road (Bakerloo)", key="Bakerloo N", label="Bakerloo N")
    g.add_edge("Edgware Road (Bakerloo)", "Bank", key="Bakerloo S", label="Bakerloo S")
    return g


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("files")
    write_graph(tube(), folder / "tube.json")
    return folder


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, files: Path) -> Path:
    """A workspace holding ``london`` (exact answers only), shared by read-only tests."""
    home = tmp_path_factory.mktemp("home")
    ingest(files / "tube.json", IngestOptions(name="london", model="none"), Workspace(home / ""))
    return home


def test_ask_json_and_text(home: Path) -> None:
    proc = run(home, "ask", "How do I get from oxford circus to St Pauls?", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["query"] == {"type": "shortest_path", "source": "Oxford Circus",
                             "target": "St. Paul's"}
    assert data["exact"] == [["Oxford Circus", "Central E", "Holborn"],
                             ["Holborn", "Central E", "St. Paul's"]]
    assert data["answer"] is None and data["agrees"] is None and data["graph"] == "london"
    assert data["model"] == "none" and "without a model" in data["note"]
    text = run(home, "ask", "which stations are next to Bank", "--graph", "london")
    assert text.returncode == 0, text.stderr
    assert "exact:      Edgware Road (Bakerloo), Edgware Road (Circle), St. Paul's" in text.stdout
    assert "model:      unavailable" in text.stdout


def test_unknown_name(home: Path) -> None:
    assert_user_error(run(home, "ask", "shortest path from Oxfrd Circus to Bank"),
                      "error: no station 'Oxfrd Circus' in 'london'; did you mean "
                      "'Oxford Circus'?")


def test_ambiguous_name(home: Path) -> None:
    assert_user_error(run(home, "ask", "how do I get from Bank to Edgware Road"),
                      "ambiguous", "'Edgware Road (Circle)'", "'Edgware Road (Bakerloo)'")


def test_unparseable_question(home: Path) -> None:
    assert_user_error(run(home, "ask", "what is the meaning of life"),
                      "cannot parse", "shortest path from A to B",
                      "from A take the Central line east for 2 stops",
                      "which stations are next to A", "maternal great uncle")


def test_no_such_entry(home: Path) -> None:
    assert_user_error(run(home, "ask", "neighbours of Bank", "--graph", "paris"),
                      "no graph named 'paris'", "dncqa ingest")
    assert_user_error(run(home, "show", "paris"), "dncqa ingest")
    assert_user_error(run(home, "remove", "paris"), "dncqa ingest")


def test_graph_over_the_limits(tmp_path: Path, files: Path) -> None:
    assert_user_error(run(tmp_path, "ingest", str(files / "tube.json"), "--max-edges", "4"),
                      "over 4 edges", "--max-edges")
    assert_user_error(run(tmp_path, "ingest", str(files / "tube.json"), "--max-nodes", "2"),
                      "--max-nodes")
    assert not (tmp_path / "graphs").exists() or not list((tmp_path / "graphs").iterdir())


def test_corrupt_workspace_file(tmp_path: Path, files: Path) -> None:
    ingest(files / "tube.json", IngestOptions(name="t", model="none"), Workspace(tmp_path))
    meta = tmp_path / "graphs" / "t" / "meta.json"
    meta.write_text('{"name": 3')
    assert_user_error(run(tmp_path, "ask", "neighbours of Bank"), str(meta))
    graph = tmp_path / "graphs" / "t" / "graph.json"
    ingest(files / "tube.json", IngestOptions(name="t", model="none"), Workspace(tmp_path))
    graph.write_text("[]")
    assert_user_error(run(tmp_path, "ask", "neighbours of Bank"), str(graph))


def test_corrupt_model_file(tmp_path: Path, files: Path) -> None:
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / "model.safetensors").write_bytes(b"\x00\x01 not a safetensors file")
    (ckpt / "config.json").write_text(json.dumps({"task": "traversal", "model": {"kind": "dnc"}}))
    assert_user_error(run(tmp_path, "ingest", str(files / "tube.json"), "--model", str(ckpt)),
                      str(ckpt / "model.safetensors"))
    (ckpt / "config.json").write_text("{broken")
    assert_user_error(run(tmp_path, "ingest", str(files / "tube.json"), "--model", str(ckpt)),
                      str(ckpt / "config.json"))


def test_failed_ingest_keeps_the_previous_entry(tmp_path: Path, files: Path) -> None:
    ok = run(tmp_path, "ingest", str(files / "tube.json"), "--name", "tube", "--model", "none")
    assert ok.returncode == 0, ok.stderr
    meta = (tmp_path / "graphs" / "tube" / "meta.json").read_text()
    broken = tmp_path / "broken.json"
    broken.write_text('{"nodes": [{"id": "a"}], "links": [{"source": "a", "target": "zz"}]}')
    assert_user_error(run(tmp_path, "ingest", str(broken), "--name", "tube"), "broken.json")
    assert (tmp_path / "graphs" / "tube" / "meta.json").read_text() == meta
    listed = run(tmp_path, "list", "--json")
    assert [e["name"] for e in json.loads(listed.stdout)] == ["tube"]


def test_ingest_untrained_ask_plot_show_remove(tmp_path: Path, files: Path) -> None:
    ing = run(tmp_path, "ingest", str(files / "tube.json"), "--name", "tube", "--model",
              "untrained", "--json")
    assert ing.returncode == 0, ing.stderr
    meta = json.loads(ing.stdout)
    assert meta["model"] == "untrained" and meta["memory_cells"] == meta["edges"] + 32
    png = tmp_path / "memory.png"
    asked = run(tmp_path, "ask", "from Bank take the Central line west for 2 stops",
                "--plot", str(png))
    assert asked.returncode == 0, asked.stderr
    assert "exact:      Bank -[Central W]-> St. Paul's -[Central W]-> Holborn" in asked.stdout
    assert "untrained model" in asked.stdout
    # noise that names a station is compared with the exact answer; noise that names
    # nothing is no answer (never printed as a label)
    assert "agrees:" in asked.stdout or "names nothing in this graph" in asked.stdout
    assert png.read_bytes()[:4] == b"\x89PNG"
    shown = run(tmp_path, "show", "tube", "--json")
    assert json.loads(shown.stdout)["files"]["memory.safetensors"] > 0
    removed = run(tmp_path, "remove", "tube")
    assert removed.returncode == 0 and "removed 'tube'" in removed.stdout
    assert_user_error(run(tmp_path, "ask", "neighbours of Bank"), "no graphs ingested yet",
                      "dncqa ingest")


@pytest.mark.parametrize("command", ["ingest", "ask", "list", "show", "remove"])
def test_help_has_examples(tmp_path: Path, command: str) -> None:
    proc = run(tmp_path, command, "--help")
    assert proc.returncode == 0 and "Examples" in proc.stdout and f"dncqa {command}" in proc.stdout
