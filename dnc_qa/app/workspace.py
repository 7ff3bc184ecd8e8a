"""The workspace: ingested graphs and their memories, under ``$DNCQA_HOME``.

``$DNCQA_HOME`` defaults to the platform's user data folder (``platformdirs``).  Each entry is a
folder ``<home>/graphs/<name>/`` holding

* ``meta.json``: :class:`EntryMeta` (source, counts, model reference, time);
* ``graph.json``: the graph, node-link JSON;
* ``labels.json``: the node-name and edge-label numbers (:class:`~dnc_qa.app.codec.LabelMap`);
* ``memory.safetensors``: the model's state after the description phase (absent without a
  model), with ``trace.safetensors``: the description phase's write weightings and usage.

An entry is written into a temporary folder and then renamed into place, so a failed or
interrupted ingest leaves the previous entry of that name as it was.  Anything unreadable raises
:class:`WorkspaceError` naming the file.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dnc_qa.app.codec import LabelMap
from dnc_qa.errors import DncQaError

if TYPE_CHECKING:
    import networkx as nx
    from torch import Tensor

SCHEMA = 1
HOME_ENV = "DNCQA_HOME"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
META, GRAPH, LABELS, MEMORY, TRACE = (
    "meta.json", "graph.json", "labels.json", "memory.safetensors", "trace.safetensors"
)


class WorkspaceError(DncQaError):
    """A workspace entry is missing or one of its files cannot be read."""


@dataclass
class EntryMeta:
    """What ``meta.json`` holds about one entry.

    Attributes:
        name: the entry's name.
        source: the file it was ingested from.
        format: the reader used (``node-link``, ``transit``, ``kb``...).
        node_kind: what a node is, for messages (``station``, ``person``, ``node``).
        nodes, edges: counts (edges are directed triples).
        model: the model reference (``none``, ``untrained``, a pretrained name or a path).
        model_digest: SHA-256 of the model's weights file (``None`` without one).
        memory_cells: the memory size the description phase used (``None`` without a model).
        created: ISO-8601 time of the ingest.
        schema: the workspace layout version.
    """

    name: str
    source: str
    format: str
    node_kind: str
    nodes: int
    edges: int
    model: str
    model_digest: str | None
    memory_cells: int | None
    created: str
    schema: int = SCHEMA

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EntryMeta:
        names = {f.name for f in fields(cls)}
        missing = [n for n in names if n not in data and n != "schema"]
        if missing:
            raise ValueError(f"missing {', '.join(sorted(missing))}")
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class Entry:
    """A loaded workspace entry (the memory is loaded on demand by the engine)."""

    path: Path
    meta: EntryMeta
    graph: nx.MultiDiGraph
    labels: LabelMap

    @property
    def memory_file(self) -> Path | None:
        p = self.path / MEMORY
        return p if p.exists() else None

    @property
    def trace_file(self) -> Path | None:
        p = self.path / TRACE
        return p if p.exists() else None


def default_home() -> Path:
    """``$DNCQA_HOME``, else the user data folder for ``dnc-qa``."""
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("dnc-qa", appauthor=False))


def check_name(name: str) -> str:
    """Raise unless ``name`` is a usable entry name (letters, digits, ``_.-``, <= 64)."""
    if not NAME_RE.match(name):
        raise WorkspaceError(
            f"invalid graph name {name!r}: use 1-64 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    return name


def name_from_path(path: str | os.PathLike[str]) -> str:
    """A default entry name from a file name (``London Tube.json`` -> ``London_Tube``)."""
    stem = Path(path).name.split(".")[0] or "graph"
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("_.-") or "graph"
    return cleaned[:64]


class Workspace:
    """The entries under one home folder."""

    def __init__(self, home: Path | None = None) -> None:
        self.home = Path(home) if home is not None else default_home()
        self.graphs = self.home / "graphs"

    def names(self) -> list[str]:
        """The names of the stored entries, sorted."""
        if not self.graphs.is_dir():
            return []
        return sorted(p.name for p in self.graphs.iterdir()
                      if p.is_dir() and not p.name.startswith("."))

    def path(self, name: str) -> Path:
        return self.graphs / check_name(name)

    def require(self, name: str) -> Path:
        """The entry's folder; a missing entry raises an error that names ``dncqa ingest``."""
        path = self.path(name)
        if not path.is_dir():
            known = self.names()
            hint = f" (stored: {', '.join(known)})" if known else ""
            raise WorkspaceError(
                f"no graph named {name!r} in {self.graphs}{hint}; "
                f"add it with: dncqa ingest FILE --name {name}"
            )
        return path

    def default_name(self) -> str:
        """The only entry, when there is exactly one (for ``dncqa ask`` without ``--graph``)."""
        names = self.names()
        if len(names) == 1:
            return names[0]
        if not names:
            raise WorkspaceError(
                f"no graphs ingested yet in {self.graphs}; add one with: dncqa ingest FILE"
            )
        raise WorkspaceError(
            f"several graphs are stored ({', '.join(names)}); choose one with --graph NAME"
        )

    def meta(self, name: str) -> EntryMeta:
        """Only the entry's ``meta.json`` (cheap: for ``list``/``show``)."""
        return read_meta(self.require(name) / META)

    def load(self, name: str) -> Entry:
        """Read an entry's meta, graph and labels (the memory stays on disk)."""
        path = self.require(name)
        meta = read_meta(path / META)
        graph = read_stored_graph(path / GRAPH)
        labels = _read(path / LABELS, LabelMap.from_json)
        return Entry(path, meta, graph, labels)

    def save(
        self,
        meta: EntryMeta,
        graph: nx.MultiDiGraph,
        labels: LabelMap,
        memory: dict[str, Tensor] | None = None,
        trace: dict[str, Tensor] | None = None,
        memory_metadata: dict[str, str] | None = None,
    ) -> Path:
        """Write an entry atomically, replacing any entry of the same name."""
        from dnc_qa.graphs.io import graph_to_json

        final = self.path(meta.name)
        self.graphs.mkdir(parents=True, exist_ok=True)
        tmp = self.graphs / f".tmp-{meta.name}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        try:
            (tmp / GRAPH).write_text(graph_to_json(graph), encoding="utf-8")
            (tmp / LABELS).write_text(labels.to_json(), encoding="utf-8")
            if memory is not None:
                from safetensors.torch import save_file

                save_file(_contiguous(memory), str(tmp / MEMORY), metadata=memory_metadata)
            if trace is not None:
                from safetensors.torch import save_file

                save_file(_contiguous(trace), str(tmp / TRACE))
            (tmp / META).write_text(json.dumps(asdict(meta), indent=1), encoding="utf-8")
            _replace_dir(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return final

    def remove(self, name: str) -> None:
        """Delete an entry (renamed away first, so a half-deleted entry is never visible)."""
        path = self.require(name)
        gone = self.graphs / f".del-{name}-{uuid.uuid4().hex[:8]}"
        os.replace(path, gone)
        shutil.rmtree(gone, ignore_errors=True)

    def clean(self, older_than_s: float = 3600.0) -> list[Path]:
        """Remove temporary folders left by interrupted ingests (only old ones, so a concurrent
        ingest's folder is never touched); returns what was removed."""
        import time

        removed = []
        if self.graphs.is_dir():
            now = time.time()
            for p in self.graphs.iterdir():
                if p.name.startswith((".tmp-", ".old-", ".del-")) and (
                    now - p.stat().st_mtime > older_than_s
                ):
                    shutil.rmtree(p, ignore_errors=True)
                    removed.append(p)
        return removed


def _contiguous(tensors: dict[str, Tensor]) -> dict[str, Tensor]:
    return {k: v.detach().contiguous().cpu() for k, v in tensors.items()}


def _replace_dir(tmp: Path, final: Path) -> None:
    """Move ``tmp`` to ``final``; an existing ``final`` is swapped out and then deleted."""
    if not final.exists():
        os.replace(tmp, final)
        return
    old = final.with_name(f".old-{final.name}-{uuid.uuid4().hex[:8]}")
    os.replace(final, old)
    try:
        os.replace(tmp, final)
    except BaseException:
        os.replace(old, final)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _read(path: Path, parse: Any) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WorkspaceError(f"corrupt workspace entry: {path} is missing; "
                             "re-run dncqa ingest") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkspaceError(f"corrupt workspace file {path}: {exc}") from None
    try:
        return parse(text)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        if isinstance(exc, KeyError):
            reason = f"missing {reason}"
        raise WorkspaceError(f"corrupt workspace file {path}: {reason}; "
                             "re-run dncqa ingest") from None


def read_meta(path: Path) -> EntryMeta:
    """Parse ``meta.json``."""

    def parse(text: str) -> EntryMeta:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        if data.get("schema", SCHEMA) > SCHEMA:
            raise ValueError(f"written by a newer dnc-qa (schema {data['schema']})")
        return EntryMeta.from_dict(data)

    return _read(path, parse)


def read_stored_graph(path: Path) -> nx.MultiDiGraph:
    """Read ``graph.json`` (the canonical node-link text this module wrote).

    The file was validated when it was ingested, so this is a plain, fast rebuild; anything
    malformed raises :class:`WorkspaceError` naming the file.
    """

    def parse(text: str) -> nx.MultiDiGraph:
        import networkx as nx

        data = json.loads(text)
        if not isinstance(data, dict) or not isinstance(data.get("nodes"), list) or not (
            isinstance(data.get("links"), list)
        ):
            raise ValueError('expected an object with "nodes" and "links" lists')
        graph = nx.MultiDiGraph(**dict(data.get("graph") or {}))
        for node in data["nodes"]:
            attrs = dict(node)
            graph.add_node(str(attrs.pop("id")), **attrs)
        for link in data["links"]:
            attrs = dict(link)
            u, v, label = str(attrs.pop("source")), str(attrs.pop("target")), attrs.pop("label")
            if u not in graph or v not in graph:
                raise ValueError(f"edge {u!r} -> {v!r} names an unknown node")
            graph.add_edge(u, v, key=str(label), label=str(label), **attrs)
        if graph.number_of_nodes() == 0:
            raise ValueError("no nodes")
        return graph

    return _read(path, parse)


def load_tensors(path: Path) -> tuple[dict[str, Tensor], dict[str, str]]:
    """A safetensors file's tensors and metadata; errors name the file."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
            return {k: fh.get_tensor(k) for k in fh.keys()}, meta  # noqa: SIM118
    except FileNotFoundError:
        raise WorkspaceError(f"corrupt workspace entry: {path} is missing") from None
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        reason = " ".join(str(exc).split())
        raise WorkspaceError(f"corrupt workspace file {path}: {reason}") from None
