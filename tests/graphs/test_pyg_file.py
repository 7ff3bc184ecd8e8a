"""``dncqa graph convert FILE --to pyg``: a ``.pt`` file of plain tensors and lists."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import torch
from torch_geometric.data import Data

from dnc_qa.graphs.io import read_graph
from dnc_qa.graphs.pyg import from_pyg, read_pyg

ROOT = Path(__file__).resolve().parents[2]


def dncqa(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dnc_qa.cli.main", *args], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)


def test_convert_to_pyg_round_trip(tmp_path: Path) -> None:
    out = tmp_path / "transit.pt"
    proc = dncqa("graph", "convert", "data/transit", "--to", "pyg", "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["format"] == "pyg"
    graph = read_graph(ROOT / "data" / "transit")
    fields = torch.load(out, weights_only=True)  # plain tensors, ints and lists only
    assert fields["num_nodes"] == graph.number_of_nodes() == report["nodes"]
    assert fields["edge_index"].shape == (2, graph.number_of_edges())
    assert fields["edge_attr"].dtype == torch.long
    assert fields["edge_label_names"] == sorted({k for *_, k in graph.edges(keys=True)})
    data = Data(**{k: v for k, v in fields.items() if k != "format"})
    assert data.num_nodes == graph.number_of_nodes()
    assert data.num_edges == graph.number_of_edges()
    back = from_pyg(read_pyg(out))
    assert sorted(back.edges(keys=True)) == sorted(graph.edges(keys=True))
    assert sorted(back.nodes) == sorted(graph.nodes)


def test_pt_extension_and_errors(tmp_path: Path) -> None:
    out = tmp_path / "family.pt"
    ok = dncqa("graph", "convert", "dnc_qa/app/demo_data/family-tree.json", str(out))
    assert ok.returncode == 0 and "(pyg)" in ok.stdout, ok.stderr
    again = dncqa("graph", "convert", "dnc_qa/app/demo_data/family-tree.json", str(out),
                  "--out", str(out))
    assert again.returncode == 2 and len(again.stderr.strip().splitlines()) == 1
    assert "TARGET or --out" in again.stderr
