"""The malformed-input corpus: each file raises one GraphFormatError naming file and place."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from dnc_qa.graphs import GraphFormatError, Limits, ReadOptions, read_graph
from dnc_qa.graphs.errors import line_col

CORPUS = Path(__file__).resolve().parents[1] / "data" / "malformed"


def corpus_cases() -> list[tuple[str, str, list[str]]]:
    """``(file, expected fragment, extra CLI args)`` rows of ``cases.tsv``."""
    rows = []
    for line in (CORPUS / "cases.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, fragment, *args = line.split("\t")
            rows.append((name, fragment, shlex.split(args[0]) if args else []))
    return rows


CASES = corpus_cases()


def _options(args: list[str]) -> ReadOptions:
    limits = Limits()
    for flag, value in zip(args[::2], args[1::2], strict=True):
        if flag == "--max-nodes":
            limits = Limits(limits.max_bytes, int(value), limits.max_edges)
        elif flag == "--max-edges":
            limits = Limits(limits.max_bytes, limits.max_nodes, int(value))
        elif flag == "--max-mb":
            limits = Limits(int(float(value) * 1024 * 1024), limits.max_nodes, limits.max_edges)
    return ReadOptions(limits=limits)


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 25
    assert all((CORPUS / name).exists() for name, _, _ in CASES)


@pytest.mark.parametrize(("name", "fragment", "args"), CASES, ids=[c[0] for c in CASES])
def test_malformed_input_raises_one_line_error(name: str, fragment: str, args: list[str]) -> None:
    with pytest.raises(GraphFormatError) as info:
        read_graph(CORPUS / name, options=_options(args))
    message = str(info.value)
    assert fragment in message
    assert name in message
    assert "\n" not in message


def test_error_fields() -> None:
    err = GraphFormatError("bad\nthing", path="f.json", place=line_col(3, 4))
    assert str(err) == "f.json: line 3, column 4: bad thing"
    assert (err.path, err.place, err.reason) == ("f.json", "line 3, column 4", "bad thing")
    assert str(GraphFormatError("x").at("g.csv")) == "g.csv: x"


def test_unknown_format_name(tmp_path: Path) -> None:
    (tmp_path / "g.json").write_text("{}")
    with pytest.raises(GraphFormatError, match="unknown format 'yaml'"):
        read_graph(tmp_path / "g.json", format="yaml")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(GraphFormatError, match="no such file"):
        read_graph(tmp_path / "absent.json")
