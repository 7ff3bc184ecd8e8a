"""Interop with PyTorch Geometric: :func:`to_pyg` / :func:`from_pyg` keep names and labels.

A :class:`torch_geometric.data.Data` made here has

* ``edge_index``: ``LongTensor [2, E]`` (source row, target row; nodes numbered in graph order),
* ``edge_label``: ``LongTensor [E]``, index into ``edge_label_names``,
* ``num_nodes``, ``node_names: list[str]`` (length N), ``edge_label_names: list[str]`` (sorted),
* ``pos``: ``FloatTensor [N, 2]`` (x, y or longitude, latitude) when every node has coordinates.

:func:`write_pyg` (``dncqa graph convert FILE graph.pt``) saves the same fields as a plain
dict of tensors, ints and lists of strings, with the labels as ``edge_attr``, so that the file
loads with ``torch.load(path, weights_only=True)`` (no pickled classes);
``Data(**torch.load(path, weights_only=True))`` or :func:`read_pyg` makes the ``Data``.
"""

from __future__ import annotations

import os

import networkx as nx
import torch
from torch_geometric.data import Data

from dnc_qa.graphs.errors import GraphFormatError
from dnc_qa.graphs.model import add_triple


def _position(attrs: dict) -> tuple[float, float] | None:
    if "x" in attrs and "y" in attrs:
        return float(attrs["x"]), float(attrs["y"])
    if "longitude" in attrs and "latitude" in attrs:
        return float(attrs["longitude"]), float(attrs["latitude"])
    return None


def to_pyg(graph: nx.MultiDiGraph) -> Data:
    """Convert a canonical graph to ``Data`` (edges in the graph's edge order)."""
    names = [str(n) for n in graph.nodes]
    index = {n: i for i, n in enumerate(graph.nodes)}
    labels = sorted({str(k) for *_, k in graph.edges(keys=True)})
    label_id = {lab: i for i, lab in enumerate(labels)}
    edges = list(graph.edges(keys=True))
    edge_index = torch.tensor([[index[u] for u, _, _ in edges], [index[v] for _, v, _ in edges]],
                              dtype=torch.long).reshape(2, len(edges))
    edge_label = torch.tensor([label_id[str(k)] for *_, k in edges], dtype=torch.long)
    data = Data(edge_index=edge_index, edge_label=edge_label, num_nodes=len(names))
    data.node_names = names
    data.edge_label_names = labels
    positions = [_position(d) for _, d in graph.nodes(data=True)]
    if names and all(p is not None for p in positions):
        data.pos = torch.tensor(positions, dtype=torch.float32)
    return data


def from_pyg(data: Data) -> nx.MultiDiGraph:
    """Rebuild the canonical graph from ``Data`` made by :func:`to_pyg`.

    The labels are read from ``edge_label``, else a 1-D ``edge_attr`` (:func:`read_pyg`).
    Without ``node_names`` nodes are named ``"0"..``; without ``edge_label``/``edge_label_names``
    every edge is labelled ``"0"``.
    """
    n = int(data.num_nodes)
    names = list(getattr(data, "node_names", None) or [str(i) for i in range(n)])
    if len(names) != n or len(set(names)) != n:
        raise GraphFormatError("node_names must hold num_nodes unique names")
    label_names = list(getattr(data, "edge_label_names", None) or [])
    edge_label = getattr(data, "edge_label", None)
    if edge_label is None and getattr(data, "edge_attr", None) is not None \
            and data.edge_attr.dim() == 1:
        edge_label = data.edge_attr  # as :func:`write_pyg` saves the labels
    graph = nx.MultiDiGraph()
    graph.add_nodes_from(names)
    pos = getattr(data, "pos", None)
    if pos is not None:
        for name, (x, y) in zip(names, pos.tolist(), strict=True):
            graph.nodes[name].update(x=x, y=y)
    src, dst = data.edge_index.tolist()
    for e, (u, v) in enumerate(zip(src, dst, strict=True)):
        lab = int(edge_label[e]) if edge_label is not None else 0
        name = label_names[lab] if label_names else str(lab)
        add_triple(graph, names[u], name, names[v])
    return graph


PYG_FILE_FORMAT = "dnc-qa pyg 1"
"""The ``format`` entry of a file written by :func:`write_pyg`."""


def pyg_dict(graph: nx.MultiDiGraph) -> dict:
    """The fields of :func:`to_pyg` as a plain dict (``edge_attr``: ``LongTensor [E]``, the
    label of each edge as an index into ``edge_label_names``)."""
    data = to_pyg(graph)
    out = {"edge_index": data.edge_index, "edge_attr": data.edge_label,
           "num_nodes": int(data.num_nodes), "node_names": list(data.node_names),
           "edge_label_names": list(data.edge_label_names)}
    if getattr(data, "pos", None) is not None:
        out["pos"] = data.pos
    return out


def write_pyg(graph: nx.MultiDiGraph, path: str | os.PathLike[str]) -> None:
    """``torch.save`` :func:`pyg_dict` (plus ``format``) to ``path``; it loads with
    ``torch.load(path, weights_only=True)``."""
    torch.save({**pyg_dict(graph), "format": PYG_FILE_FORMAT}, path)


def read_pyg(path: str | os.PathLike[str]) -> Data:
    """The ``Data`` of a file written by :func:`write_pyg` (loaded with ``weights_only``)."""
    fields = torch.load(path, weights_only=True)
    if not isinstance(fields, dict) or fields.get("format") != PYG_FILE_FORMAT:
        raise GraphFormatError(f"not a graph written by dncqa graph convert --to pyg: {path}")
    fields = {k: v for k, v in fields.items() if k != "format"}
    return Data(**fields)
