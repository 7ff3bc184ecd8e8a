"""Whole-process checks: SIGKILL then --resume is exact; a 2-process torchrun run on gloo."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from train_helpers import TINY_ARGS, cli

from dnc_qa.tasks.copy import CopyTask
from dnc_qa.train.checkpoint import latest_checkpoint
from dnc_qa.train.evaluate import evaluate_counts, load_trained_model
from dnc_qa.train.metrics_log import read_metrics

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
RUN_ARGS = [
    "train", "--task", "copy", "--model", "dnc", "--steps", "60", "--checkpoint-every", "5",
    "--log-every", "5", "--eval-every", "20", "--json", *TINY_ARGS,
]
TIMING = {"elapsed_s", "episodes_per_s", "minutes", "out_dir", "checkpoint"}


def comparable(out: Path) -> list[dict]:
    return [
        {k: v for k, v in r.items() if k not in TIMING}
        for r in read_metrics(out / "metrics.jsonl")
        if r["event"] in {"train", "eval", "lesson"}
    ]


def summary(stdout: str) -> dict:
    return {k: v for k, v in json.loads(stdout.strip().splitlines()[-1]).items() if k not in TIMING}


@pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")
def test_killed_then_resumed_run_matches_uninterrupted(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    full = subprocess.run(
        cli(*RUN_ARGS, "--out", str(a)), env=ENV, capture_output=True, text=True, timeout=300
    )
    assert full.returncode == 0, full.stderr

    proc = subprocess.Popen(
        cli(*RUN_ARGS, "--out", str(b)), env=ENV, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    killed_at = None
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            latest = latest_checkpoint(b)
        except Exception:  # the pointer is being replaced right now
            latest = None
        if latest is not None and latest.name >= "step-00000025":
            proc.send_signal(signal.SIGKILL)
            killed_at = latest.name
            break
        time.sleep(0.02)
    proc.wait(timeout=60)
    assert killed_at is not None, "the run ended before it could be killed; make it longer"
    assert proc.returncode == -signal.SIGKILL

    resumed = subprocess.run(
        cli(*RUN_ARGS, "--out", str(b), "--resume"), env=ENV, capture_output=True, text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert any(r["event"] == "resume" for r in read_metrics(b / "metrics.jsonl"))
    assert summary(resumed.stdout) == summary(full.stdout)
    assert comparable(b) == comparable(a)
    wa = load_file(latest_checkpoint(a) / "model.safetensors")
    wb = load_file(latest_checkpoint(b) / "model.safetensors")
    assert wa.keys() == wb.keys()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def _torchrun_train(out: Path, *args: str) -> subprocess.CompletedProcess:
    """``python -m dnc_qa.train ARGS --device cpu --out OUT --json`` (tiny model) as two gloo
    processes under torchrun; fails the test unless it exits 0."""
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
        "-m", "dnc_qa.train", *args, "--device", "cpu", "--out", str(out), "--json", *TINY_ARGS,
    ]
    run = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    return run


def test_torchrun_two_processes_gloo(tmp_path: Path) -> None:
    out = tmp_path / "ddp"
    run = _torchrun_train(out, "--task", "copy", "--model", "dnc", "--steps", "12",
                          "--checkpoint-every", "6", "--log-every", "3", "--eval-every", "6")
    lines = [x for x in run.stdout.splitlines() if x.startswith("{")]
    assert len(lines) == 1  # only rank 0 reports
    report = json.loads(lines[0])
    assert report["steps"] == 12 and report["episodes"] == 12 * 4 * 2
    records = read_metrics(out / "metrics.jsonl")
    assert [r["step"] for r in records if r["event"] == "train"] == [3, 6, 9, 12]
    # each logged window covers both processes' episodes
    assert all(r["episodes"] == 3 * 4 * 2 for r in records if r["event"] == "train")

    model, ckpt = load_trained_model(out, torch.device("cpu"))
    assert ckpt.trainer.step == 12
    assert ckpt.trainer.rng_states.shape[0] == 2
    assert not torch.equal(ckpt.trainer.rng_states[0], ckpt.trainer.rng_states[1])
    counts = evaluate_counts(
        model, CopyTask(), 8, torch.Generator().manual_seed(0), torch.device("cpu")
    )
    assert counts.episodes == 8


def test_torchrun_two_processes_shortest_path_rollouts(tmp_path: Path) -> None:
    """The rollout task (several model passes per batch) trains under DDP: one forward and
    one backward of :class:`~dnc_qa.train.trainer.RolloutNet` per step."""
    out = tmp_path / "ddp-sp"
    run = _torchrun_train(out, "--task", "shortest_path", "--model", "dnc", "--controller",
                          "feedforward", "--fit-cells", "--steps", "6", "--checkpoint-every",
                          "3", "--log-every", "3", "--eval-every", "3")
    report = json.loads(next(x for x in run.stdout.splitlines() if x.startswith("{")))
    assert report["steps"] == 6 and report["task"] == "shortest_path"
    records = read_metrics(out / "metrics.jsonl")
    train = [r for r in records if r["event"] == "train"]
    assert [r["step"] for r in train] == [3, 6]
    assert all(r["episodes"] == 3 * 4 * 2 for r in train)  # both processes' episodes
    assert all(r["per_step_accuracy"] > 0 for r in train)  # real counts from the rollouts


def test_torchrun_two_processes_trimmed_graph_batches(tmp_path: Path) -> None:
    """A task scored on its answer steps (traversal) runs each padded row only as far as its
    last answer: several model calls per batch, as one DDP module call
    (:class:`~dnc_qa.models.trimmed.TrimmedNet`), so DDP's one reduction per step holds."""
    out = tmp_path / "ddp-trav"
    run = _torchrun_train(out, "--task", "traversal", "--model", "dnc", "--controller",
                          "feedforward", "--fit-cells", "--steps", "4", "--checkpoint-every",
                          "2", "--log-every", "2", "--eval-every", "2")
    report = json.loads(next(x for x in run.stdout.splitlines() if x.startswith("{")))
    assert report["steps"] == 4 and report["episodes"] == 4 * 4 * 2
    records = read_metrics(out / "metrics.jsonl")
    assert [r["step"] for r in records if r["event"] == "eval"] == [2, 4]
    weights = load_file(latest_checkpoint(out) / "model.safetensors")
    assert all(torch.isfinite(t).all() for t in weights.values())


def test_torchrun_pooled_graph_batches_resume_exactly(tmp_path: Path) -> None:
    """Under DDP the processes pool their graph batches and split them into shares of equal
    cost, the next batch drawn and sent one step ahead (dnc_qa.train.balance). The lesson
    changes at every evaluation (``--threshold 0``), which puts back the batch drawn ahead
    from the lesson before. A run stopped there (step 2), and again with a batch drawn ahead
    (step 3), then resumed each time, ends with the same weights as one that ran through."""
    args = ["--task", "traversal", "--model", "dnc", "--controller", "feedforward",
            "--fit-cells", "--checkpoint-every", "2", "--log-every", "1", "--eval-every", "2",
            "--threshold", "0"]
    _torchrun_train(tmp_path / "through", *args, "--steps", "6")
    _torchrun_train(tmp_path / "stopped", *args, "--steps", "2")
    _torchrun_train(tmp_path / "stopped", *args, "--steps", "3", "--resume")
    _torchrun_train(tmp_path / "stopped", *args, "--steps", "6", "--resume")
    records = read_metrics(tmp_path / "through" / "metrics.jsonl")
    assert [r["lesson"] for r in records if r["event"] == "lesson"] == [1, 2, 3]
    wa = load_file(latest_checkpoint(tmp_path / "through") / "model.safetensors")
    wb = load_file(latest_checkpoint(tmp_path / "stopped") / "model.safetensors")
    assert wa.keys() == wb.keys()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    resumed = read_metrics(tmp_path / "stopped" / "metrics.jsonl")
    train = lambda rs: [(r["step"], r["loss"]) for r in rs if r["event"] == "train"]  # noqa: E731
    assert train(resumed) == train(records)


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="lists threads from /proc")
def test_ddp_run_frees_its_process_group_before_exit(tmp_path: Path) -> None:
    """After a DDP run the gloo group is gone, its worker threads joined: a group still alive
    when Python shuts down aborts the process now and then ("terminate called without an
    active exception") when a worker frees the last collectives' tensors too late."""
    probe = Path(__file__).with_name("ddp_exit_probe.py")
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
        str(probe), "--task", "copy", "--model", "dnc", "--steps", "4", "--log-every", "2",
        "--eval-every", "2", "--device", "cpu", "--out", str(tmp_path / "out"), "--json",
        *TINY_ARGS,
    ]
    run = subprocess.run(cmd, env={**ENV, "PYTHONPATH": os.pathsep.join(sys.path)},
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    probes = [json.loads(x) for x in run.stdout.splitlines() if x.startswith('{"probe_threads"')]
    assert len(probes) == 2  # one per rank
    for p in probes:
        assert not p["initialized"]
        assert not [t for t in p["probe_threads"] if "gloo" in t], p["probe_threads"]


def test_processes_option_starts_ddp_itself(tmp_path: Path) -> None:
    """``dncqa train --processes 2`` runs the same command as two DDP processes."""
    out = tmp_path / "p2"
    cmd = [sys.executable, "-m", "dnc_qa", "train", "--task", "copy", "--steps", "4",
           "--processes", "2", "--threads", "1", "--device", "cpu", "--out", str(out),
           "--json", *TINY_ARGS]
    run = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    lines = [x for x in run.stdout.splitlines() if x.startswith("{")]
    assert len(lines) == 1 and json.loads(lines[0])["episodes"] == 4 * 4 * 2
    _, ckpt = load_trained_model(out, torch.device("cpu"))
    assert ckpt.trainer.rng_states.shape[0] == 2
