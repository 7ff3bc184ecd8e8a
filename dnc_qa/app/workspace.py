"""The workspace: ingested graphs and their memories, under ``$DNCQA_HOME``.

``$DNCQA_HOME`` defaults to the platform's user data folder (``platformdirs``).  Each entry is
reached as ``<home>/graphs/<name>/`` and holds

* ``meta.json``: :class:`EntryMeta` (source, counts, model reference, time);
* ``graph.json``: the graph, node-link JSON;
* ``labels.json``: the node-name and edge-label numbers (:class:`~dnc_qa.app.codec.LabelMap`);
* ``memory.safetensors``: the model's state after the description phase (absent without a
  model), with ``trace.safetensors``: the description phase's write weightings and usage.

How an entry is replaced without a moment where it is missing or half-written:

* ``<home>/graphs/<name>`` is a symbolic link to a version folder
  ``<home>/entries/<name>@<id>/``.  An ingest fills a new version folder (``meta.json``
  last, every file synced), then points the link at it with one ``rename`` of a new link
  over the old one, then deletes the previous version.  A ``kill -9`` at any moment leaves
  either the old entry or the new one, never neither.
* Writers of one name hold ``<home>/locks/<name>.lock`` (``flock``): a second ingest of the
  same name waits for the first (up to :data:`LOCK_WAIT_S`, then a clear error).
* Every command first tidies what an interrupted writer left (for names no one is writing):
  version folders no link points at, dangling links, and the ``.tmp-``/``.old-``/``.del-``
  folders of earlier releases, which replaced an entry folder with two renames; when such an
  interruption left the name missing, its previous folder is put back.
* An entry folder from earlier releases (a plain folder, not a link) is read as it is and is
  swapped for a link, the same atomic way, when it is next replaced.

Every stored file is checked when it is read (types and ranges of ``meta.json``, every node
and edge label numbered in ``labels.json``, the shapes in ``trace.safetensors``); anything
unreadable or inconsistent raises :class:`WorkspaceError` naming the file and how to recover.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dnc_qa.app.codec import LabelMap
from dnc_qa.durable import fsync_path
from dnc_qa.errors import DncQaError

if TYPE_CHECKING:
    import networkx as nx
    from torch import Tensor

SCHEMA = 1
HOME_ENV = "DNCQA_HOME"
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
META, GRAPH, LABELS, MEMORY, TRACE = (
    "meta.json", "graph.json", "labels.json", "memory.safetensors", "trace.safetensors"
)
LOCK_WAIT_S = 120.0
"""How long a writer waits for another writer of the same name before giving up."""
_RECOVER = "remove it with: dncqa remove {name}, then ingest the graph again"


class WorkspaceError(DncQaError):
    """A workspace entry is missing or one of its files cannot be read."""


def _check_types(name: str, value: Any, *kinds: type) -> None:
    if value is None and type(None) in kinds:
        return
    ok = any(isinstance(value, k) and not (k is int and isinstance(value, bool)) for k in kinds)
    if not ok:
        want = " or ".join("null" if k is type(None) else k.__name__ for k in kinds)
        raise ValueError(f"{name!r} must be {want}, not {json.dumps(value)[:40]}")


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
        """Check every field's type and range (``ValueError`` names the field)."""
        names = {f.name for f in fields(cls)}
        missing = [n for n in names if n not in data and n != "schema"]
        if missing:
            raise ValueError(f"missing {', '.join(sorted(missing))}")
        for key in ("name", "source", "format", "node_kind", "model", "created"):
            _check_types(key, data[key], str)
        _check_types("model_digest", data["model_digest"], str, type(None))
        for key in ("nodes", "edges", "schema"):
            _check_types(key, data.get(key, SCHEMA), int)
        _check_types("memory_cells", data["memory_cells"], int, type(None))
        if not NAME_RE.fullmatch(data["name"]):
            raise ValueError(f"'name' {data['name']!r} is not a valid graph name")
        if data["nodes"] < 1 or data["edges"] < 0:
            raise ValueError("'nodes' must be at least 1 and 'edges' at least 0")
        if data["memory_cells"] is not None and data["memory_cells"] < 1:
            raise ValueError(f"'memory_cells' must be at least 1, not {data['memory_cells']}")
        if data.get("schema", SCHEMA) < 1:
            raise ValueError(f"'schema' must be at least 1, not {data['schema']}")
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
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        shown = repr(name) if len(str(name)) <= 80 else repr(str(name)[:80]) + "..."
        raise WorkspaceError(
            f"invalid graph name {shown}: use 1-64 letters, digits, '_', '.' or '-', "
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
        self.entries = self.home / "entries"
        self.locks = self.home / "locks"
        self._recovered = False

    # ------------------------------------------------------------------ reading

    def names(self) -> list[str]:
        """The names of the stored entries, sorted."""
        self.recover()
        if not self.graphs.is_dir():
            return []
        return sorted(p.name for p in self.graphs.iterdir()
                      if not p.name.startswith(".") and p.is_dir())

    def path(self, name: str) -> Path:
        return self.graphs / check_name(name)

    def require(self, name: str) -> Path:
        """The entry's folder; a missing entry raises an error that names ``dncqa ingest``."""
        path = self.path(name)
        self.recover()
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
        path = self.require(name)
        return read_meta(_resolve(path) / META, name, shown=path / META)

    def load(self, name: str) -> Entry:
        """Read an entry's meta, graph and labels (the memory stays on disk), checking that
        they agree with each other."""
        path = self.require(name)
        for attempt in range(2):
            real = _resolve(path)
            try:
                meta = read_meta(real / META, name, shown=path / META)
                graph = read_stored_graph(real / GRAPH, shown=path / GRAPH)
                labels = _read(real / LABELS, LabelMap.from_json, name, shown=path / LABELS)
            except WorkspaceError:
                if attempt == 0 and _resolve(path) != real:
                    continue  # replaced while being read: read the new version
                raise
            check_entry(meta, graph, labels, path)
            return Entry(path, meta, graph, labels)
        raise AssertionError("unreachable")

    # ------------------------------------------------------------------ writing

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
        for name, tensor in (memory or {}).items():
            if tensor.is_floating_point() and not bool(tensor.isfinite().all()):
                raise WorkspaceError(
                    f"the memory written by model {meta.model!r} holds NaN or infinite values "
                    f"(state {name!r}): the model's weights are not usable; nothing was stored")
        with _environment(self.home), self.lock(meta.name):
            self._recover_name(meta.name)
            self.graphs.mkdir(parents=True, exist_ok=True)
            self.entries.mkdir(parents=True, exist_ok=True)
            version = self.entries / f"{meta.name}@{_stamp()}"
            version.mkdir()
            try:
                _write_file(version / GRAPH, graph_to_json(graph).encode("utf-8"))
                _write_file(version / LABELS, labels.to_json().encode("utf-8"))
                if memory is not None:
                    _save_tensors(memory, version / MEMORY, memory_metadata)
                if trace is not None:
                    _save_tensors(trace, version / TRACE, None)
                from dnc_qa.jsonout import dumps

                _write_file(version / META, dumps(asdict(meta), indent=1).encode("utf-8"))
                fsync_path(version)
                self._point(final, version)
            except BaseException:
                shutil.rmtree(version, ignore_errors=True)
                raise
        return final

    def _point(self, link: Path, version: Path) -> None:
        """Make ``link`` point at ``version`` with one rename; drop what it pointed at."""
        previous = _resolve(link) if link.is_symlink() else None
        legacy = None
        if link.exists() and not link.is_symlink():
            # An entry folder of an earlier release: set it aside under a name recovery
            # restores if the next rename never happens, then link.
            legacy = previous = self.entries / f"{link.name}@prev-{_stamp()}"
            os.replace(link, legacy)
        tmp = self.graphs / f".lnk-{link.name}-{uuid.uuid4().hex[:8]}"
        try:
            os.symlink(os.path.relpath(version, self.graphs), tmp)
            os.replace(tmp, link)
        except BaseException:
            _delete(tmp)
            if legacy is not None and not link.exists():
                os.replace(legacy, link)
            raise
        fsync_path(self.graphs)
        if previous is not None and previous != version and self._owned(previous):
            shutil.rmtree(previous, ignore_errors=True)

    def _owned(self, folder: Path) -> bool:
        """Whether ``folder`` is a version folder of this workspace (a link that points
        anywhere else is never followed to delete something)."""
        try:
            return folder.resolve().parent == self.entries.resolve() and folder.is_dir()
        except OSError:
            return False

    def remove(self, name: str) -> None:
        """Delete an entry (the link goes first, so a half-deleted entry is never visible)."""
        path = self.require(name)
        with _environment(self.home), self.lock(name):
            if not path.is_dir():
                self.require(name)
            if path.is_symlink():
                target = _resolve(path)
                path.unlink()
                fsync_path(self.graphs)
                if self._owned(target):
                    shutil.rmtree(target, ignore_errors=True)
            else:
                gone = self.graphs / f".del-{name}-{uuid.uuid4().hex[:8]}"
                os.replace(path, gone)
                shutil.rmtree(gone, ignore_errors=True)

    @contextlib.contextmanager
    def lock(self, name: str, wait_s: float | None = None) -> Iterator[None]:
        """Hold the writer's lock of entry ``name`` (waiting for another writer)."""
        handle = _try_lock(self.locks, check_name(name), create=True)
        deadline = time.monotonic() + (LOCK_WAIT_S if wait_s is None else wait_s)
        while handle is None:
            if time.monotonic() > deadline:
                raise WorkspaceError(
                    f"graph {name!r} is being written by another dncqa process "
                    f"(lock {self.locks / (name + '.lock')}); try again when it has finished")
            time.sleep(0.05)
            handle = _try_lock(self.locks, name, create=True)
        try:
            yield
        finally:
            _unlock(handle)

    # ------------------------------------------------------------------ recovery

    def recover(self) -> None:
        """Tidy what interrupted writers left, for every name no one is writing now.

        Never raises for a workspace it cannot write (a read-only one is left as it is)."""
        if self._recovered:
            return
        self._recovered = True
        names: set[str] = set()
        for folder, pattern in ((self.graphs, _LEFTOVER), (self.entries, _VERSION)):
            with contextlib.suppress(OSError):
                for p in folder.iterdir() if folder.is_dir() else ():
                    m = pattern.fullmatch(p.name)
                    if m and NAME_RE.fullmatch(m["name"]):
                        names.add(m["name"])
        with contextlib.suppress(OSError):
            for p in self.graphs.iterdir() if self.graphs.is_dir() else ():
                if p.is_symlink() and not p.exists() and NAME_RE.fullmatch(p.name):
                    names.add(p.name)
        for name in sorted(names):
            try:
                handle = _try_lock(self.locks, name, create=True)
            except OSError:
                handle = None
            if handle is None:
                continue  # being written right now, or a read-only workspace
            try:
                self._recover_name(name)
            except OSError:
                pass
            finally:
                _unlock(handle)

    def _recover_name(self, name: str) -> None:
        """Recovery for one name; the caller holds its lock."""
        link = self.graphs / name
        if link.is_symlink() and not link.exists():
            link.unlink()  # an interrupted remove, or a version deleted by hand
        current = _resolve(link) if link.is_symlink() else None
        leftovers = _listing(self.graphs, name, _LEFTOVER)
        versions = _listing(self.entries, name, _VERSION)
        if not link.exists():
            # An interrupted replacement of a plain entry folder: put the previous one back.
            previous = [p for p in leftovers if p.name.startswith(".old-")]
            previous += [p for p in versions if "@prev-" in p.name]
            previous = [p for p in previous if (p / META).is_file()]
            if previous:
                newest = max(previous, key=lambda p: p.stat().st_mtime)
                os.replace(newest, link)
                leftovers = [p for p in leftovers if p != newest]
                versions = [p for p in versions if p != newest]
        for p in leftovers:
            _delete(p)
        for p in versions:
            if p != current:
                _delete(p)

    def clean(self, older_than_s: float = 3600.0) -> list[Path]:
        """Remove temporary folders of interrupted writers that are older than
        ``older_than_s`` (whatever their locks say); returns what was removed."""
        removed = []
        for folder in (self.graphs, self.entries):
            if not folder.is_dir():
                continue
            now = time.time()
            for p in folder.iterdir():
                if p.name.startswith((".tmp-", ".old-", ".del-")) and (
                    now - p.stat().st_mtime > older_than_s
                ):
                    shutil.rmtree(p, ignore_errors=True)
                    removed.append(p)
        return removed


_LEFTOVER = re.compile(r"\.(?P<kind>tmp|old|del|lnk)-(?P<name>.+)-[0-9a-f]+")
_VERSION = re.compile(r"(?P<name>[^@]+)@(?:prev-)?[0-9a-f]+")


def _delete(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        with contextlib.suppress(OSError):
            path.unlink()
    else:
        shutil.rmtree(path, ignore_errors=True)


def _stamp() -> str:
    return f"{time.time_ns():x}{uuid.uuid4().hex[:6]}"


def _listing(folder: Path, name: str, pattern: re.Pattern[str]) -> list[Path]:
    if not folder.is_dir():
        return []
    out = []
    for p in folder.iterdir():
        m = pattern.fullmatch(p.name)
        if m and m["name"] == name:
            out.append(p)
    return out


def _resolve(path: Path) -> Path:
    """The version folder a link points at (``path`` itself when it is a plain folder)."""
    if path.is_symlink():
        return (path.parent / os.readlink(path)).resolve()
    return path


try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no locking
    fcntl = None  # type: ignore[assignment]


def _try_lock(folder: Path, name: str, create: bool) -> Any:
    """An open, locked lock file for ``name``, or ``None`` while another process holds it."""
    if create:
        folder.mkdir(parents=True, exist_ok=True)
    fh = open(folder / f"{name}.lock", "a+b")  # noqa: SIM115 - held until _unlock
    if fcntl is None:
        return fh
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        return None
    except OSError:
        fh.close()
        raise
    return fh


def _unlock(handle: Any) -> None:
    with contextlib.suppress(OSError):
        handle.close()  # closing releases the flock


@contextlib.contextmanager
def _environment(home: Path) -> Iterator[None]:
    """Turn permission / disk problems while writing the workspace into one-line errors."""
    try:
        yield
    except WorkspaceError:
        raise
    except OSError as exc:
        if exc.errno is None:
            raise
        where = exc.filename or home
        raise WorkspaceError(
            f"cannot write the workspace {home}: {exc.strerror or exc} ({where}); nothing "
            "was changed"
        ) from None


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _save_tensors(tensors: dict[str, Tensor], path: Path, metadata: dict[str, str] | None
                  ) -> None:
    from safetensors.torch import save_file

    save_file(_contiguous(tensors), str(path), metadata=metadata)
    fsync_path(path)


def _contiguous(tensors: dict[str, Tensor]) -> dict[str, Tensor]:
    return {k: v.detach().contiguous().cpu() for k, v in tensors.items()}


def _read(path: Path, parse: Any, name: str | None = None, shown: Path | None = None) -> Any:
    shown = shown or path
    fix = _RECOVER.format(name=name) if name else "re-run dncqa ingest"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WorkspaceError(f"corrupt workspace entry: {shown} is missing; {fix}") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or " ".join(str(exc).split())
        raise WorkspaceError(f"cannot read workspace file {shown}: {reason}; {fix}") from None
    try:
        return parse(text)
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        if isinstance(exc, KeyError):
            reason = f"missing {reason}"
        raise WorkspaceError(f"corrupt workspace file {shown}: {reason[:200]}; {fix}"
                             ) from None


def read_meta(path: Path, name: str | None = None, shown: Path | None = None) -> EntryMeta:
    """Parse and check ``meta.json``."""

    def parse(text: str) -> EntryMeta:
        data = json.loads(text, parse_constant=_no_constant)
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        schema = data.get("schema", SCHEMA)
        if isinstance(schema, int) and schema > SCHEMA:
            raise ValueError(f"written by a newer dnc-qa (schema {schema})")
        return EntryMeta.from_dict(data)

    return _read(path, parse, name, shown)


def _no_constant(token: str) -> Any:
    raise ValueError(f"{token} is not valid JSON")


def read_stored_graph(path: Path, name: str | None = None, shown: Path | None = None
                      ) -> nx.MultiDiGraph:
    """Read ``graph.json`` (the canonical node-link text this module wrote).

    The file was validated when it was ingested, so this is a plain, fast rebuild that checks
    the structure; anything malformed raises :class:`WorkspaceError` naming the file.
    """

    def parse(text: str) -> nx.MultiDiGraph:
        import networkx as nx

        data = json.loads(text, parse_constant=_no_constant)
        if not isinstance(data, dict) or not isinstance(data.get("nodes"), list) or not (
            isinstance(data.get("links"), list)
        ):
            raise ValueError('expected an object with "nodes" and "links" lists')
        attrs = data.get("graph") or {}
        if not isinstance(attrs, dict):
            raise ValueError('"graph" must be an object')
        graph = nx.MultiDiGraph(**attrs)
        for i, node in enumerate(data["nodes"]):
            if not isinstance(node, dict) or not isinstance(node.get("id"), str):
                raise ValueError(f"nodes[{i}] must be an object with a string \"id\"")
            attrs = dict(node)
            graph.add_node(attrs.pop("id"), **attrs)
        for i, link in enumerate(data["links"]):
            if not isinstance(link, dict) or not all(
                isinstance(link.get(k), str) for k in ("source", "target", "label")
            ):
                raise ValueError(f"links[{i}] must be an object with string \"source\", "
                                 "\"target\" and \"label\"")
            attrs = dict(link)
            u, v, label = attrs.pop("source"), attrs.pop("target"), attrs.pop("label")
            if u not in graph or v not in graph:
                raise ValueError(f"edge {u!r} -> {v!r} names an unknown node")
            graph.add_edge(u, v, key=label, label=label, **attrs)
        if graph.number_of_nodes() == 0:
            raise ValueError("no nodes")
        return graph

    return _read(path, parse, name, shown)


def check_entry(meta: EntryMeta, graph: nx.MultiDiGraph, labels: LabelMap, path: Path) -> None:
    """Refuse an entry whose files disagree (counts, a node or edge label without a number,
    two names sharing a number): the message names the file and how to recover."""
    fix = _RECOVER.format(name=path.name)
    if (graph.number_of_nodes(), graph.number_of_edges()) != (meta.nodes, meta.edges):
        raise WorkspaceError(
            f"corrupt workspace entry {path}: {GRAPH} has {graph.number_of_nodes()} nodes and "
            f"{graph.number_of_edges()} edges, {META} says {meta.nodes} and {meta.edges}; {fix}")
    where = path / LABELS
    for what, table, needed in (("node", labels.nodes, graph.nodes),
                                ("edge label", labels.edges,
                                 {k for _, _, k in graph.edges(keys=True)})):
        missing = [n for n in needed if n not in table]
        if missing:
            raise WorkspaceError(f"corrupt workspace file {where}: no number for {what} "
                                 f"{missing[0]!r}; {fix}")
        if len(set(table.values())) != len(table):
            raise WorkspaceError(f"corrupt workspace file {where}: two {what}s share a "
                                 f"number; {fix}")


def check_trace(arrays: dict[str, Any], path: Path, meta: EntryMeta) -> None:
    """Refuse a stored ``trace.safetensors`` that does not belong to ``meta``'s entry: every
    array must be finite, cover the description phase (one step per edge) and the entry's
    memory size."""
    fix = _RECOVER.format(name=meta.name)
    expect = {"write_weights": 3, "read_weights": 3, "usage": 2}
    for key, value in arrays.items():
        shape = tuple(value.shape)
        if key not in expect or len(shape) != expect[key]:
            raise WorkspaceError(f"corrupt workspace file {path}: unexpected tensor {key!r} "
                                 f"of shape {list(shape)}; {fix}")
        if shape[0] != meta.edges or (meta.memory_cells is not None
                                      and shape[-1] != meta.memory_cells):
            raise WorkspaceError(
                f"corrupt workspace file {path}: {key!r} has shape {list(shape)}, not "
                f"{meta.edges} steps over {meta.memory_cells} cells (is it from another "
                f"entry?); {fix}")
        import numpy as np

        values = np.asarray(value)
        if values.dtype.kind not in "fiu" or not np.isfinite(values).all():
            raise WorkspaceError(f"corrupt workspace file {path}: {key!r} holds non-finite "
                                 f"or non-numeric values; {fix}")


def load_tensors(path: Path) -> tuple[dict[str, Tensor], dict[str, str]]:
    """A safetensors file's tensors and metadata; errors name the file."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
            return {k: fh.get_tensor(k) for k in fh.keys()}, meta  # noqa: SIM118
    except FileNotFoundError:
        raise WorkspaceError(f"corrupt workspace entry: {path} is missing") from None
    except (SafetensorError, OSError, ValueError, RuntimeError, TypeError) as exc:
        reason = " ".join(str(exc).split())
        raise WorkspaceError(f"corrupt workspace file {path}: {reason}") from None
