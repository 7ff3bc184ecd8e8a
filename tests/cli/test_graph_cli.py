"""``dncqa graph info|convert``: output, --json, and one-line errors with exit status 2."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from dnc_qa.cli.main import main

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "tests" / "data" / "malformed"
DATA = REPO / "data"


def _cases() -> list[tuple[str, str, list[str]]]:
    rows = []
    for line in (CORPUS / "cases.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, fragment, *args = line.split("\t")
            rows.append((name, fragment, shlex.split(args[0]) if args else []))
    return rows


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run the real entry point in-process: (exit status, stdout, stderr)."""
    code = 0
    try:
        main(args)
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize(("name", "fragment", "args"), _cases(), ids=[c[0] for c in _cases()])
def test_malformed_corpus_exit_2_one_line(
    name: str, fragment: str, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["graph", "info", str(CORPUS / name), *args], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and fragment in lines[0] and name in lines[0]
    assert "Traceback" not in err + out


@pytest.mark.parametrize("name", ["json_dangling_target.json", "transit_unknown_line",
                                  "graphml_entity_expansion.graphml"])
def test_malformed_through_a_real_process(name: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "dnc_qa.cli.main", "graph", "info",
                           str(CORPUS / name)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr


def test_info_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["graph", "info", str(DATA / "transit"), "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert 30 <= data["nodes"] <= 60 and data["connected"] is True
    assert data["diameter"] >= 1 and data["out_degree"][0] >= 1 and data["labels"]


def test_info_rich(capsys: pytest.CaptureFixture[str]) -> None:
    tree = REPO / "dnc_qa" / "app" / "demo_data" / "family-tree.json"
    code, out, _ = run(["graph", "info", str(tree)], capsys)
    assert code == 0 and "nodes" in out and "diameter" in out


def test_convert_and_refuse_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "t.json"
    code, out, _ = run(["graph", "convert", str(DATA / "transit"), str(target)], capsys)
    assert code == 0 and "wrote" in out and target.exists()
    code, _, err = run(["graph", "convert", str(DATA / "transit"), str(target)], capsys)
    assert code == 2 and "--force" in err and len(err.strip().splitlines()) == 1
    code, out, _ = run(["graph", "convert", str(target), str(tmp_path / "t.graphml"), "--json"],
                       capsys)
    assert code == 0 and json.loads(out)["format"] == "graphml"
    code, out, _ = run(["graph", "info", str(tmp_path / "t.graphml"), "--json"], capsys)
    assert json.loads(out)["nodes"] == json.loads(
        run(["graph", "info", str(target), "--json"], capsys)[1])["nodes"]


def test_convert_unwritable_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["graph", "convert", str(DATA / "transit"), str(tmp_path / "x.yaml")],
                       capsys)
    assert code == 2 and "cannot write format" in err


@pytest.mark.parametrize("cmd", [["graph", "--help"], ["graph", "info", "--help"],
                                 ["graph", "convert", "--help"]])
def test_help_has_examples(cmd: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(cmd, capsys)
    assert code == 0 and "Examples" in out and "dncqa graph" in out
