"""``dncqa demo``: the graph demo with the shipped model (JSON and text), the workspace it
leaves alone, its bundled data, and the copy-task demo behind ``--copy``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dnc_qa.app.demo import DEMO_ENTRIES, DEMO_QUESTIONS, PACKAGE_DATA, REPO_DATA
from dnc_qa.app.engine import shipped_models
from dnc_qa.cli.main import main

# Exact answers worked out by hand from data/transit and the packaged family tree (docs/data.md).
EXPECTED_EXACT = {
    "how do I get from Fenford Square to Larkton": [
        ["Fenford Square", "Amber N", "Silwick Hill"], ["Silwick Hill", "Amber N", "Kelstead"],
        ["Kelstead", "Amber N", "Quillgate Hill"], ["Quillgate Hill", "Amber N", "Larkton"]],
    "from Quillgate Hill take the Fern line east for 1 stop": [
        ["Quillgate Hill", "Fern E", "Larkcross Square"]],
    "which stations are next to Quillgate Hill": [
        "Kelstead", "Larkcross Square", "Larkton", "Marley Square"],
    "who is Eli's wife": ["Greta"],
    "start at Ivo and follow father then wife": [["Ivo", "father", "Eli"],
                                                 ["Eli", "wife", "Greta"]],
    "who is Cai's maternal grandmother": ["Rosa"],
    "who are Eli's grandchildren": ["Cai", "Dov", "Tam", "Tess", "Vik"],
}
STATUSES = {"agrees", "wrong", "no model answer"}


def run_cli(args: list[str], home: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "DNCQA_HOME": str(home), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "dnc_qa", *args], capture_output=True,
                          text=True, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def demo_json(tmp_path_factory) -> tuple[dict, float, Path]:
    home = tmp_path_factory.mktemp("home")
    start = time.perf_counter()
    result = run_cli(["demo", "--json"], home)
    seconds = time.perf_counter() - start
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), seconds, home


def test_demo_json_questions_and_exact_answers(demo_json) -> None:
    report, _, _ = demo_json
    assert report["total"] == len(DEMO_QUESTIONS) == len(report["questions"]) >= 8
    asked = [q["question"] for q in report["questions"]]
    assert asked == [q.question for q in DEMO_QUESTIONS]
    by_question = {q["question"]: q for q in report["questions"]}
    for question, exact in EXPECTED_EXACT.items():
        assert by_question[question]["exact"] == exact, question
    types = {q["query"]["type"] for q in report["questions"]}
    assert types == {"shortest_path", "traversal", "neighbours", "fact", "relation"}


def test_demo_json_reports_agreement(demo_json) -> None:
    report, _, _ = demo_json
    questions = report["questions"]
    for q in questions:
        assert q["status"] in STATUSES
        if q["agrees"] is None:  # ("answer" is also null for a model answer of nobody)
            assert q["answer"] is None and q["status"] == "no model answer" and q["note"]
        else:
            assert isinstance(q["agrees"], bool)
            assert 0.0 <= q["confidence"] <= 1.0
            assert q["status"] == ("agrees" if q["agrees"] else "wrong")
    agreed = sum(1 for q in questions if q["agrees"])
    answered = sum(1 for q in questions if q["agrees"] is not None)
    assert report["agreed"] == agreed and report["answered"] == answered
    chained = sum(1 for q in questions
                  if q["answer"] is not None and "hop by hop" in (q["note"] or ""))
    assert report["chained"] == chained
    assert (f"{chained} answered hop by hop" in report["summary"]) == (chained > 0)
    assert report["summary"].startswith(
        f"model agreed with the exact answer on {agreed} of {len(questions)} questions")
    # The shipped traversal model answers every traversal, neighbour and fact question.
    assert answered >= 8


def test_demo_uses_the_shipped_model_and_a_temporary_workspace(demo_json) -> None:
    report, _, home = demo_json
    shipped = shipped_models()
    assert shipped, "no model shipped in dnc_qa/pretrained"
    assert report["models"]["metro"] in shipped
    assert report["models"]["family"] in shipped
    assert not (home / "graphs").exists() or not any((home / "graphs").iterdir())


def test_demo_text_says_when_the_model_is_wrong(tmp_path: Path, capsys) -> None:
    os.environ["DNCQA_HOME"] = str(tmp_path)
    try:
        main(["demo", "--model", "untrained"])
    finally:
        del os.environ["DNCQA_HOME"]
    out = capsys.readouterr().out
    assert "model agreed with the exact answer on" in out
    assert "the model is WRONG" in out  # an untrained model gets traversals wrong
    assert out.count("exact:") == len(DEMO_QUESTIONS)


def test_demo_keep_stores_demo_entries_only(tmp_path: Path) -> None:
    user = run_cli(["ingest", str(PACKAGE_DATA / "family-tree.json"), "--name", "mine",
                    "--model", "none"], tmp_path)
    assert user.returncode == 0, user.stderr
    before = (tmp_path / "graphs" / "mine" / "meta.json").read_bytes()
    result = run_cli(["demo", "--keep", "--model", "none", "--json"], tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["answered"] == 0 and report["agreed"] == 0
    names = sorted(p.name for p in (tmp_path / "graphs").iterdir() if not p.name.startswith("."))
    assert names == sorted(["mine", *DEMO_ENTRIES.values()])
    assert (tmp_path / "graphs" / "mine" / "meta.json").read_bytes() == before


@pytest.mark.skipif(not (REPO_DATA / "transit").is_dir(), reason="no repository data/")
def test_packaged_demo_data_matches_the_repository_data() -> None:
    from dnc_qa.graphs.io import read_graph

    # The family tree has one copy, in the package; the map is CSVs here and JSON there.
    a, b = read_graph(REPO_DATA / "transit"), read_graph(PACKAGE_DATA / "meridian.json")
    assert sorted(a.edges(keys=True)) == sorted(b.edges(keys=True))
    assert dict(a.nodes(data=True)) == dict(b.nodes(data=True))
    assert not (REPO_DATA / "family" / "family-tree.json").exists()


def test_demo_seconds_without_copy_is_a_user_error(tmp_path: Path) -> None:
    result = run_cli(["demo", "--seconds", "5"], tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: --seconds applies to the copy-task demo only (add --copy)"]


def test_copy_demo_reports_bit_error(capsys) -> None:
    code = 0
    try:
        main(["demo", "--copy", "--seconds", "1"])
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr().out
    assert code == 0
    assert "bit error / sequence" in out and "1-20" in out


def test_copy_demo_bad_seconds(tmp_path: Path) -> None:
    result = run_cli(["demo", "--copy", "--seconds", "0"], tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "--seconds" in lines[0]
