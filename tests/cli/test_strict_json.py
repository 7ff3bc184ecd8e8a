"""Every ``--json`` output parses with a strict JSON parser (no NaN / Infinity), text output
escapes control characters from graph files, damaged entries are listed, and errors stay one
short line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

from dnc_qa.graphs.io import write_graph
from dnc_qa.jsonout import dumps

ROOT = Path(__file__).resolve().parents[2]
EVIL = "Bad\x1b]0;owned\x07\x1b[2J\x7f\u009bname"


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DNCQA_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "dnc_qa.cli.main", *args], capture_output=True,
                          text=True, env=env, timeout=180, cwd=ROOT)


def strict(text: str) -> object:
    def refuse(token: str) -> None:
        raise ValueError(f"non-standard JSON constant {token}")

    return json.loads(text, parse_constant=refuse)


def user_error(proc: subprocess.CompletedProcess[str], *fragments: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "internal error" not in proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def no_controls(text: str) -> None:
    bad = [c for c in text if (ord(c) < 32 and c not in "\n\t") or 0x7f <= ord(c) <= 0x9f]
    assert not bad, repr(text)


@pytest.fixture(scope="module")
def graph_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    g = nx.MultiDiGraph()
    for a, b in (("Alpha", EVIL), (EVIL, "Gamma"), ("Gamma", "Delta")):
        g.add_edge(a, b, key="next", label="next", weight=1.5)
    path = tmp_path_factory.mktemp("in") / "evil.json"
    write_graph(g, path)
    return path


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, graph_file: Path) -> Path:
    home = tmp_path_factory.mktemp("home")
    proc = run(home, "ingest", str(graph_file), "--name", "evil", "--model", "none")
    assert proc.returncode == 0, proc.stderr
    return home


def test_dumps_never_writes_nan() -> None:
    text = dumps({"a": float("nan"), "b": [float("inf"), -float("inf"), 1.5], "c": "\u009b"})
    assert strict(text) == {"a": None, "b": [None, None, 1.5], "c": "\u009b"}
    assert "\u009b" not in text  # written as an escape


def test_every_json_output_is_strict(home: Path, graph_file: Path, tmp_path: Path) -> None:
    outputs = [
        run(home, "list", "--json"),
        run(home, "show", "evil", "--json"),
        run(home, "ask", "which nodes are next to Alpha", "--graph", "evil", "--json"),
        run(home, "graph", "info", str(graph_file), "--json"),
        run(home, "graph", "convert", str(graph_file), str(tmp_path / "o.graphml"), "--json"),
        run(home, "info", "--json"),
    ]
    for proc in outputs:
        assert proc.returncode == 0, proc.stderr
        strict(proc.stdout)
        no_controls(proc.stdout)


def test_text_output_escapes_control_characters(home: Path, graph_file: Path) -> None:
    for proc in (
        run(home, "ask", "which nodes are next to Alpha", "--graph", "evil"),
        run(home, "graph", "info", str(graph_file)),
        run(home, "show", "evil"),
        run(home, "list"),
    ):
        assert proc.returncode == 0, proc.stderr
        no_controls(proc.stdout)
        no_controls(proc.stderr)
    asked = run(home, "ask", "which nodes are next to Alpha", "--graph", "evil")
    assert "\\x1b" in asked.stdout  # shown, escaped
    err = run(home, "ask", f"which nodes are next to {EVIL}x", "--graph", "evil")
    assert err.returncode == 2
    no_controls(err.stderr)


def test_long_question_is_cut_in_the_error(home: Path) -> None:
    question = "why " + "very " * 20_000 + "long"
    line = user_error(run(home, "ask", question, "--graph", "evil"))
    assert len(line) < 1500 and "more characters" in line


def test_damaged_entry_is_listed_and_others_are_not_hidden(tmp_path: Path,
                                                          graph_file: Path) -> None:
    for name in ("good", "bad"):
        assert run(tmp_path, "ingest", str(graph_file), "--name", name, "--model",
                   "none").returncode == 0
    meta = tmp_path / "graphs" / "bad" / "meta.json"
    data = json.loads(meta.read_text())
    data["memory_cells"] = -3
    meta.write_text(json.dumps(data))
    listed = run(tmp_path, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    entries = {e["name"]: e for e in strict(listed.stdout)}
    assert entries["good"]["nodes"] == 4
    assert "memory_cells" in entries["bad"]["damaged"]
    text = run(tmp_path, "list")
    assert "DAMAGED" in text.stdout and "good" in text.stdout
    user_error(run(tmp_path, "ask", "which nodes are next to Alpha", "--graph", "bad"),
               "meta.json", "dncqa remove bad")
    assert run(tmp_path, "remove", "bad").returncode == 0
    assert [e["name"] for e in strict(run(tmp_path, "list", "--json").stdout)] == ["good"]


def test_names_that_collide_after_normalising_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "dup.json"
    path.write_text(json.dumps({"nodes": [{"id": "Ann"}, {"id": "Ann "}, {"id": "Bo"}],
                                "links": [{"source": "Ann", "target": "Bo", "label": "x"}]}))
    user_error(run(tmp_path, "ingest", str(path), "--model", "none"), "'Ann'", "'Ann '")
    path.write_text(json.dumps({"nodes": [{"id": "Cafe\u0301"}, {"id": "Caf\u00e9"}],
                                "links": [{"source": "Caf\u00e9", "target": "Cafe\u0301",
                                           "label": "x"}]}))
    user_error(run(tmp_path, "graph", "info", str(path)), "same name")
    user_error(run(tmp_path, "ingest", str(path), "--name", "g\n", "--model", "none"),
               "invalid graph name")


def test_environment_errors_are_exit_2(tmp_path: Path, graph_file: Path) -> None:
    home = tmp_path / "file"
    home.write_text("")
    user_error(run(home, "ingest", str(graph_file), "--model", "none"), "workspace")
    out = tmp_path / "o.json"
    out.mkdir()  # writing a file where a folder is
    user_error(run(tmp_path, "graph", "convert", str(graph_file), str(out), "--force"))
