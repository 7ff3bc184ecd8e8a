"""The workspace under faults: a writer killed at every step, leftovers of interrupted writers,
concurrent writers, damaged files, an unwritable home.

A kill is a real ``kill -9`` equivalent: a child process ends with ``os._exit`` just before (or
just after) the n-th file-system step of an ingest, so no clean-up code runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import networkx as nx
import pytest

from dnc_qa.app import workspace as ws_module
from dnc_qa.app.ingest import IngestOptions, ingest
from dnc_qa.app.workspace import Workspace, WorkspaceError
from dnc_qa.graphs.io import write_graph

ROOT = Path(__file__).resolve().parents[2]


def _graph(label: str) -> nx.MultiDiGraph:
    g = nx.MultiDiGraph()
    for a, b in (("A", "B"), ("B", "C"), ("C", "D")):
        g.add_edge(a, b, key=label, label=label)
    return g


@pytest.fixture()
def files(tmp_path: Path) -> tuple[Path, Path]:
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    write_graph(_graph("old"), old)
    write_graph(_graph("new"), new)
    return old, new


# The child counts the steps of the write (file writes, syncs, renames, links, deletions) and
# exits without clean-up at step KILL_AT (before it when AFTER is 0, after it when 1).
CHILD = textwrap.dedent("""
    import os, shutil, sys
    from pathlib import Path
    from dnc_qa.app import workspace as w
    from dnc_qa.app.ingest import IngestOptions, ingest

    home, src, kill_at, after = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    count = [0]

    def step(fn):
        def wrapped(*a, **k):
            count[0] += 1
            if count[0] == kill_at and not after:
                os._exit(9)
            out = fn(*a, **k)
            if count[0] == kill_at and after:
                os._exit(9)
            return out
        return wrapped

    w._write_file = step(w._write_file)
    w.fsync_path = step(w.fsync_path)
    w._save_tensors = step(w._save_tensors)
    w.os.replace = step(os.replace)
    w.os.symlink = step(os.symlink)
    w.shutil.rmtree = step(shutil.rmtree)
    ingest(src, IngestOptions(name="g", model="none"), w.Workspace(Path(home)))
    print(count[0])
""")


def _child(home: Path, src: Path, kill_at: int, after: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", CHILD, str(home), str(src), str(kill_at),
                           str(after)], capture_output=True, text=True, cwd=ROOT, timeout=120)


def _label(ws: Workspace) -> str:
    entry = ws.load("g")
    return next(iter(entry.labels.edges))


def _tidy(ws: Workspace) -> None:
    """After recovery: the link, its one version, nothing else."""
    assert sorted(p.name for p in ws.graphs.iterdir()) == ["g"]
    versions = sorted(p.name for p in ws.entries.iterdir())
    assert len(versions) == 1 and (ws.graphs / "g").resolve().name == versions[0]


def test_reingest_killed_at_every_step_keeps_old_or_new(tmp_path: Path, files: tuple) -> None:
    old, new = files
    total = _child(tmp_path / "probe", new, 0, 0)
    assert total.returncode == 0, total.stderr
    ingest(old, IngestOptions(name="g", model="none"), Workspace(tmp_path / "probe"))
    steps = int(_child(tmp_path / "probe", new, 0, 0).stdout.split()[-1])
    assert steps >= 6
    for kill_at in range(1, steps + 1):
        for after in (0, 1):
            home = tmp_path / f"h{kill_at}-{after}"
            ingest(old, IngestOptions(name="g", model="none"), Workspace(home))
            proc = _child(home, new, kill_at, after)
            assert proc.returncode == 9, (kill_at, after, proc.stderr)
            ws = Workspace(home)
            assert ws.names() == ["g"], (kill_at, after)
            assert _label(ws) in ("old", "new"), (kill_at, after)
            _tidy(Workspace(home))
            # and the next ingest works and replaces it
            ingest(new, IngestOptions(name="g", model="none"), Workspace(home))
            assert _label(Workspace(home)) == "new"
            _tidy(Workspace(home))


def test_first_ingest_killed_leaves_nothing_visible(tmp_path: Path, files: tuple) -> None:
    _, new = files
    steps = int(_child(tmp_path / "probe", new, 0, 0).stdout.split()[-1])
    for kill_at in range(1, steps + 1):
        home = tmp_path / f"h{kill_at}"
        proc = _child(home, new, kill_at, 0)
        assert proc.returncode == 9
        ws = Workspace(home)
        assert ws.names() in ([], ["g"])
        if ws.names():
            assert _label(ws) == "new"


def _legacy_entry(ws: Workspace, src: Path, folder_name: str) -> Path:
    """An entry folder as earlier releases left it (a plain folder), under ``folder_name``."""
    scratch = Workspace(ws.home / "scratch")
    ingest(src, IngestOptions(name="g", model="none"), scratch)
    ws.graphs.mkdir(parents=True, exist_ok=True)
    target = ws.graphs / folder_name
    os.replace((scratch.graphs / "g").resolve(), target)
    return target


def test_leftovers_of_the_two_rename_replacement_are_recovered(tmp_path: Path,
                                                               files: tuple) -> None:
    old, new = files
    ws = Workspace(tmp_path / "home")
    # killed between "entry -> .old-*" and ".tmp-* -> entry": only the leftovers remain
    _legacy_entry(ws, old, ".old-g-1a2b3c4d")
    _legacy_entry(ws, new, ".tmp-g-5e6f7a8b")
    assert ws.names() == ["g"]
    assert _label(ws) == "old"  # the previous entry, as it was
    assert sorted(p.name for p in ws.graphs.iterdir()) == ["g"]  # the .tmp-* is gone
    # a plain (old-layout) entry is replaced atomically by a link
    ingest(new, IngestOptions(name="g", model="none"), ws)
    assert (ws.graphs / "g").is_symlink() and _label(Workspace(ws.home)) == "new"
    _tidy(Workspace(ws.home))


def test_interrupted_remove_and_dangling_versions_are_tidied(tmp_path: Path,
                                                             files: tuple) -> None:
    old, _ = files
    ws = Workspace(tmp_path / "home")
    ingest(old, IngestOptions(name="g", model="none"), ws)
    ingest(old, IngestOptions(name="h", model="none"), ws)
    import shutil

    shutil.rmtree((ws.graphs / "g").resolve())  # the link is left dangling
    (ws.entries / "h@deadbeef").mkdir()  # a version no link points at
    fresh = Workspace(ws.home)
    assert fresh.names() == ["h"]
    assert not (ws.graphs / "g").is_symlink()
    assert [p.name for p in ws.entries.iterdir()] == [(ws.graphs / "h").resolve().name]


def test_concurrent_writer_of_one_name_waits_then_fails_clearly(
    tmp_path: Path, files: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = files
    ws = Workspace(tmp_path / "home")
    ingest(old, IngestOptions(name="g", model="none"), ws)
    monkeypatch.setattr(ws_module, "LOCK_WAIT_S", 0.2)
    with Workspace(ws.home).lock("g"):
        with pytest.raises(WorkspaceError, match="being written by another dncqa"):
            ingest(new, IngestOptions(name="g", model="none"), Workspace(ws.home))
        # another name is not blocked
        ingest(new, IngestOptions(name="other", model="none"), Workspace(ws.home))
    assert _label(Workspace(ws.home)) == "old"
    ingest(new, IngestOptions(name="g", model="none"), Workspace(ws.home))
    assert _label(Workspace(ws.home)) == "new"


def test_concurrent_ingests_in_processes_all_succeed(tmp_path: Path, files: tuple) -> None:
    _, new = files
    home = tmp_path / "home"
    env = {**os.environ, "DNCQA_HOME": str(home)}
    cmd = [sys.executable, "-m", "dnc_qa.cli.main", "ingest", str(new), "--name", "g",
           "--model", "none"]
    procs = [subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
    _tidy(Workspace(home))


@pytest.mark.parametrize(("field", "value", "fragment"), [
    ("memory_cells", -5, "memory_cells"),
    ("memory_cells", "many", "memory_cells"),
    ("nodes", "4", "nodes"),
    ("edges", None, "edges"),
    ("name", "bad\nname", "name"),
    ("schema", 99, "newer"),
])
def test_damaged_meta_is_named(tmp_path: Path, files: tuple, field: str, value: object,
                               fragment: str) -> None:
    ws = Workspace(tmp_path)
    ingest(files[0], IngestOptions(name="g", model="none"), ws)
    meta_file = ws.path("g") / "meta.json"
    data = json.loads(meta_file.read_text())
    data[field] = value
    meta_file.write_text(json.dumps(data))
    with pytest.raises(WorkspaceError, match=fragment) as err:
        Workspace(tmp_path).load("g")
    assert "meta.json" in str(err.value) and "dncqa remove g" in str(err.value)


def test_damaged_labels_and_graph_are_named(tmp_path: Path, files: tuple) -> None:
    ws = Workspace(tmp_path)
    ingest(files[0], IngestOptions(name="g", model="none"), ws)
    labels_file = ws.path("g") / "labels.json"
    data = json.loads(labels_file.read_text())
    del data["nodes"]["A"]
    labels_file.write_text(json.dumps(data))
    with pytest.raises(WorkspaceError, match=r"labels\.json.*no number for node 'A'"):
        Workspace(tmp_path).load("g")
    ingest(files[0], IngestOptions(name="g", model="none"), ws)
    graph_file = ws.path("g") / "graph.json"
    data = json.loads(graph_file.read_text())
    data["links"][0]["source"] = 7
    graph_file.write_text(json.dumps(data))
    with pytest.raises(WorkspaceError, match=r"graph\.json"):
        Workspace(tmp_path).load("g")
    graph_file.write_text('{"nodes": [{"id": "A"}], "links": [], "graph": NaN}')
    with pytest.raises(WorkspaceError, match=r"graph\.json.*NaN"):
        Workspace(tmp_path).load("g")


def test_trace_from_another_entry_is_refused(tmp_path: Path, files: tuple) -> None:
    import numpy as np

    from dnc_qa.app.workspace import check_trace, read_meta

    ws = Workspace(tmp_path)
    ingest(files[0], IngestOptions(name="g", model="none"), ws)
    meta = read_meta(ws.path("g") / "meta.json")
    meta.memory_cells = 35
    good = {"usage": np.zeros((meta.edges, 35), "float32"),
            "write_weights": np.zeros((meta.edges, 1, 35), "float32")}
    check_trace(good, Path("trace.safetensors"), meta)
    other = {"usage": np.zeros((meta.edges + 4, 39), "float32")}
    with pytest.raises(WorkspaceError, match="another entry"):
        check_trace(other, Path("trace.safetensors"), meta)
    nan = {"usage": np.full((meta.edges, 35), np.nan, "float32")}
    with pytest.raises(WorkspaceError, match="non-finite"):
        check_trace(nan, Path("trace.safetensors"), meta)


def test_unwritable_home_is_one_clear_error(tmp_path: Path, files: tuple) -> None:
    home = tmp_path / "home-is-a-file"
    home.write_text("")
    with pytest.raises(WorkspaceError, match="cannot write the workspace"):
        ingest(files[0], IngestOptions(name="g", model="none"), Workspace(home))


def test_names_are_matched_whole(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    for bad in ("g\n", "g ", " g", "../g", "g/h", "", "-g", "a" * 65):
        with pytest.raises(WorkspaceError, match="invalid graph name"):
            ws.path(bad)
    assert ws.path("g.1_x-y").name == "g.1_x-y"


def test_a_link_pointing_outside_is_never_followed_to_delete(tmp_path: Path,
                                                             files: tuple) -> None:
    ws = Workspace(tmp_path / "home")
    ingest(files[0], IngestOptions(name="g", model="none"), ws)
    outside = tmp_path / "precious"
    outside.mkdir()
    (outside / "keep.txt").write_text("mine")
    link = ws.graphs / "g"
    link.unlink()
    link.symlink_to(outside)
    ingest(files[1], IngestOptions(name="g", model="none"), Workspace(ws.home))
    assert (outside / "keep.txt").read_text() == "mine"
    link.unlink()
    link.symlink_to(outside)
    Workspace(ws.home).remove("g")
    assert (outside / "keep.txt").read_text() == "mine"


def test_a_memory_with_nan_is_never_stored(tmp_path: Path, files: tuple) -> None:
    import torch

    from dnc_qa.app.codec import LabelMap
    from dnc_qa.app.workspace import EntryMeta

    ws = Workspace(tmp_path)
    meta = EntryMeta("g", "src", "node-link", "node", 4, 3, "m", "abc", 35, "now")
    labels = LabelMap({"A": 1, "B": 2, "C": 3, "D": 4}, {"old": 5}, 0)
    with pytest.raises(WorkspaceError, match="NaN or infinite.*'memory'"):
        ws.save(meta, _graph("old"), labels, {"memory": torch.full((2, 2), float("nan"))})
    assert ws.names() == []
