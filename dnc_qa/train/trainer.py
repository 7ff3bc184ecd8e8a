"""The training loop: curriculum, clipping, NaN guard, checkpoints, resume, DDP, logging.

One optimizer step per batch. Every ``log_every`` steps a ``train`` record (metrics over the
steps since the last one) goes to ``<out>/metrics.jsonl``; every ``curriculum.eval_every``
steps the current lesson is evaluated on fresh episodes (``eval`` record) and the curriculum
may advance (``lesson`` record). Checkpoints go to ``<out>/checkpoints/`` (see
:mod:`dnc_qa.train.checkpoint`).

Exact resume: on the CPU, a run resumed from a checkpoint logs the same ``train``/``eval``
records (apart from timing fields) as an uninterrupted run with the same config, because the
checkpoint holds the weights, the optimizer, the data generator's state, the curriculum lesson
and the partial logging window; evaluation generators are derived from ``(seed, step)``.

Initial weights: ``init_from`` starts a new run from the weights of a run folder (its latest
checkpoint), a checkpoint folder or a shipped model (by name or folder), read with
safetensors; the architecture must be this run's (:func:`check_same_architecture`). The
``start`` record names the source (``init_from``).

NaN guard: a batch whose loss or gradient norm is not finite is skipped (``skip`` record).
After ``max_bad_batches`` skips in a row the run rolls back to the last checkpoint
(``rollback`` record) and goes on with fresh batches; after ``max_rollbacks`` rollbacks it
stops with :class:`TrainingDiverged`.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from dnc_qa.device import resolve_device
from dnc_qa.errors import CheckpointError, DncQaError
from dnc_qa.models.trimmed import TrimmedNet, lengths_for
from dnc_qa.tasks.base import Batch, MetricCounts, Metrics, RolloutTask, Task
from dnc_qa.tasks.registry import make_task
from dnc_qa.train import distributed as D
from dnc_qa.train.balance import PendingPool, balances, pool_batch, share_of
from dnc_qa.train.captured import CapturedTrainStep, CaptureFailed
from dnc_qa.train.checkpoint import (
    WEIGHTS,
    Checkpoint,
    TrainerState,
    latest_checkpoint,
    load_checkpoint,
    load_weights,
    save_checkpoint,
)
from dnc_qa.train.config import TrainConfig
from dnc_qa.train.curriculum import Curriculum
from dnc_qa.train.evaluate import cells_for, evaluate_counts
from dnc_qa.train.metrics_log import MetricsLog
from dnc_qa.train.model_factory import build_model
from dnc_qa.train.progress import TrainProgress

METRICS_FILE = "metrics.jsonl"
FINAL_EVAL_SEED_OFFSET = 99_991


class TrainingDiverged(DncQaError):
    """The loss stayed non-finite through every allowed rollback."""


ARCHITECTURE = ("kind", "hidden_size", "controller_layers", "cell_width", "num_reads",
                "num_writes", "controller", "masking", "deallocation", "link_sharpness")
"""The ``ModelConfig`` fields that decide a network's parameters (the memory size, ``clip``
and ``fit_cells`` do not)."""


class TrainResult(NamedTuple):
    """What a finished run reports."""

    out_dir: Path
    checkpoint: Path | None  # the last checkpoint written (None on non-main processes)
    task: str
    model: str
    steps: int
    episodes: int
    elapsed_s: float
    lesson: int  # index of the lesson reached
    lessons: int
    stop_reason: str  # "steps", "time" or "target"
    final: Metrics  # on the full task, ``final_eval_episodes`` fresh episodes


def eval_generator(seed: int, step: int, rank: int) -> torch.Generator:
    """The generator for the evaluation at ``step`` on process ``rank``."""
    return torch.Generator().manual_seed((seed * 1_000_003 + step) * 101 + rank + 7)


def data_generator(seed: int, rank: int) -> torch.Generator:
    """The training-data generator of process ``rank``."""
    return torch.Generator().manual_seed(seed * 10_007 + rank)


def load_initial_weights(ref: str | Path) -> Checkpoint:
    """The weights to start a run from: a shipped model's name or folder
    (:func:`~dnc_qa.train.evaluate.shipped_folder`), a checkpoint folder (or its
    ``model.safetensors``) or a run folder (its latest checkpoint). Weights are read with
    safetensors and the trainer state with ``weights_only``; an unreadable or non-finite
    source is a :class:`~dnc_qa.errors.CheckpointError`."""
    from dnc_qa.train.evaluate import load_shipped, shipped_folder

    shipped = shipped_folder(ref)
    if shipped is not None:
        return load_shipped(shipped)
    path = Path(ref).expanduser()
    if not path.exists():
        from dnc_qa.app.engine import shipped_models

        names = ", ".join(shipped_models()) or "none"
        raise CheckpointError(f"--init-from {ref}: no such run, checkpoint or shipped model "
                              f"(shipped models: {names})")
    return load_checkpoint(path)


def architecture_differences(source: TrainConfig, config: TrainConfig) -> list[str]:
    """``"field: source value (this run: value)"`` for each :data:`ARCHITECTURE` field that
    differs, then the task's input and output sizes when they differ."""
    out = [f"{name}: {getattr(source.model, name)!r} (this run: {getattr(config.model, name)!r})"
           for name in ARCHITECTURE if getattr(source.model, name) != getattr(config.model, name)]
    if source.task != config.task:
        theirs = make_task(source.task, **source.task_options())
        ours = make_task(config.task, **config.task_options())
        for what in ("input_size", "output_size"):
            if getattr(theirs, what) != getattr(ours, what):
                out.append(f"{what}: {getattr(theirs, what)} for {source.task} "
                           f"(this run: {getattr(ours, what)} for {config.task})")
    return out


def copy_matching_weights(model: nn.Module, weights: dict[str, torch.Tensor],
                          ref: str | Path) -> list[str]:
    """Copy into ``model`` every tensor of ``weights`` whose name and shape it shares (e.g. a
    feed-forward DNC's memory interface and output layer into an LSTM-controller DNC of the
    same width); the rest keeps its fresh initialisation. Returns the copied names; none in
    common is a :class:`~dnc_qa.errors.DncQaError`."""
    own = model.state_dict()
    copied = sorted(name for name, t in weights.items()
                    if name in own and tuple(own[name].shape) == tuple(t.shape))
    if not copied:
        raise DncQaError(f"--init-from {ref} --init-partial: no weight of the same name and "
                         "shape in this model")
    with torch.no_grad():
        for name in copied:
            own[name].copy_(weights[name])
    return copied


def check_same_architecture(source: Checkpoint, config: TrainConfig, ref: str | Path) -> None:
    """Raise a one-line :class:`~dnc_qa.errors.DncQaError` naming every difference when the
    network ``source`` holds is not the one ``config`` builds."""
    differences = architecture_differences(source.config, config)
    if differences:
        raise DncQaError(f"--init-from {ref}: its network differs from this run's "
                         f"({'; '.join(differences)}); give the same model options")


class RunStart(NamedTuple):
    """What a run starts from, read and checked by :func:`plan_run`."""

    config: TrainConfig  # this call's config, or the resumed run's with this call's budget
    loaded: Checkpoint | None  # the checkpoint a resumed run continues from
    task: Task
    initial: Checkpoint | None  # the weights a new run starts from (``init_from``)


def plan_run(config: TrainConfig, out_dir: Path, resume: bool = False,
             init_from: str | Path | None = None, init_partial: bool = False) -> RunStart:
    """Every check a run makes of its inputs before it starts, without writing anything or
    joining a process group: the output folder (a run there needs ``resume``), the checkpoint
    to resume (read safely; a corrupt one is a :class:`~dnc_qa.errors.CheckpointError`), the
    config, the task and its data files, and the ``init_from`` weights and their network.
    :class:`Trainer` starts with it, and ``dncqa train`` calls it before it starts DDP
    processes, so that bad input is one error from one process."""
    checkpoint = latest_checkpoint(out_dir)
    if checkpoint is not None and not resume:
        raise DncQaError(
            f"{out_dir} already holds a run; pass --resume to continue it or choose another --out"
        )
    loaded = load_checkpoint(checkpoint) if (resume and checkpoint is not None) else None
    if loaded is not None and init_from is not None:
        raise DncQaError(f"--init-from starts a new run, and {out_dir} holds one to "
                         "resume; leave out --init-from or choose another --out")
    if loaded is not None:
        budget_given = config.steps is not None or config.minutes is not None
        config = replace(
            loaded.config,
            steps=config.steps if budget_given else loaded.config.steps,
            minutes=config.minutes if budget_given else loaded.config.minutes,
            device=config.device,
            amp=config.amp,
            cuda_graph=config.cuda_graph,
            deterministic=config.deterministic,
            stop_bit_error=config.stop_bit_error,
        )
    config.validate()
    task: Task = make_task(config.task, **config.task_options())
    check_data = getattr(task, "check_data", None)
    if check_data is not None:  # a task read from files (bAbI) fails here, before any write
        check_data()
    if config.model.fit_cells and "fit_cells" in getattr(task, "__dataclass_fields__", {}):
        task = replace(task, fit_cells=True)  # type: ignore[type-var]
    initial = None
    if init_from is not None and loaded is None:
        initial = load_initial_weights(init_from)
        if not init_partial:
            check_same_architecture(initial, config, init_from)
    return RunStart(config, loaded, task, initial)


def make_optimizer(config: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
    o = config.optim
    if o.name == "rmsprop":
        return torch.optim.RMSprop(model.parameters(), lr=o.lr, momentum=o.momentum)
    return torch.optim.Adam(model.parameters(), lr=o.lr)


class RolloutNet(nn.Module):
    """A rollout (the model acting inside its episodes, several passes per batch) as one
    module call, so DDP sees one forward and one backward per step and all-reduces the
    gradients as usual. The counts of the last call are kept in :attr:`counts`."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.counts = MetricCounts()

    def forward(self, plan: list[tuple[Task, int]], batch_size: int,
                generator: torch.Generator, device: torch.device) -> torch.Tensor:
        loss = torch.zeros((), device=device)
        counts = MetricCounts()
        for lesson, n in plan:
            assert isinstance(lesson, RolloutTask)
            part, c = lesson.rollout(self.model, n, generator, device, train=True)
            loss = loss + part * (n / batch_size)
            counts = counts + c
        self.counts = counts
        return loss


class Trainer:
    """One training run in ``out_dir``. Use :func:`train` unless you need the pieces.

    Args:
        config: the run's configuration (on resume, the checkpoint's config is used, with
            ``steps``, ``minutes``, ``device``, ``amp``, ``cuda_graph`` and ``stop_bit_error``
            taken from this one).
        out_dir: where checkpoints and ``metrics.jsonl`` go.
        resume: continue from ``<out>/checkpoints/latest`` (a fresh start if there is none).
        show_progress: draw the progress bar (main process only).
        init_from: start a new run from these weights (see :func:`load_initial_weights`);
            not with a run that is resumed.
        init_partial: copy only the tensors of ``init_from`` whose name and shape this model
            shares (:func:`copy_matching_weights`) instead of requiring the same network.
        tensorboard: also log the metrics' scalars to this folder for TensorBoard
            (:class:`~dnc_qa.train.metrics_log.MetricsLog`).
    """

    def __init__(
        self, config: TrainConfig, out_dir: Path, resume: bool = False, show_progress: bool = True,
        init_from: str | Path | None = None,
        init_partial: bool = False,
        tensorboard: Path | None = None,
    ) -> None:
        self.out_dir = Path(out_dir)
        config, loaded, self.task, initial = plan_run(config, self.out_dir, resume, init_from,
                                                      init_partial)
        self.config = config
        device = resolve_device(config.device)
        self.dist = D.init_distributed(device)
        self.device = D.local_device(device, self.dist)
        self.amp = config.amp and self.device.type == "cuda"
        if self.amp and not torch.cuda.is_bf16_supported():
            raise DncQaError("--amp needs a GPU with bfloat16 support")
        self.log = MetricsLog(self.out_dir / METRICS_FILE, enabled=self.dist.is_main,
                              tensorboard=tensorboard)
        self.progress_enabled = show_progress and self.dist.is_main

        if config.deterministic and self.device.type == "cpu":
            # read lazily by MKL at its first call, so this must happen before the process's
            # first forward pass. (The native kernels are deterministic: their scratch
            # buffers are aligned, and each batch element is computed by one thread.)
            os.environ.setdefault("MKL_CBWR", "COMPATIBLE")
        torch.manual_seed(config.seed)
        self.model = build_model(config.model, self.task.input_size, self.task.output_size)
        self.init_from: dict[str, object] | None = None
        self.init_partial = init_partial
        if initial is not None and init_from is not None:
            self.init_from = self._load_initial(initial, init_from)
        self.model.to(self.device)
        self.optimizer = make_optimizer(config, self.model)
        self.generator = data_generator(config.seed, self.dist.rank)
        self.state = TrainerState()
        self.curriculum = Curriculum(self.task, config.curriculum)
        self.last_checkpoint: Path | None = None
        self.fresh = loaded is None  # nothing on disk yet: run() writes a step-0 checkpoint
        if loaded is not None:
            self._restore(loaded, restore_rng=True)
            self.last_checkpoint = loaded.path
            self.log.truncate_after(self.state.step)
            self.log.write("resume", self.state.step, checkpoint=str(loaded.path))
        elif resume:
            self.log.truncate_after(0)
        # a padded batch: each row as far as the task reads it (dnc_qa.models.trimmed)
        self.net: nn.Module = TrimmedNet(self.model)
        # under DDP, the next pooled batch on its way (see _shared_step)
        self._pending: PendingPool | None = None
        self._rng_before_pending: torch.Tensor | None = None
        self.rollout_net: nn.Module = RolloutNet(self.model)
        if self.dist.enabled:
            ids = [self.device.index] if self.device.type == "cuda" else None
            if isinstance(self.curriculum.task, RolloutTask):  # every lesson is a rollout
                self.rollout_net = DistributedDataParallel(self.rollout_net, device_ids=ids)
            else:
                self.net = DistributedDataParallel(self.net, device_ids=ids)
        if config.amp and not self.amp:
            self._note("--amp is ignored: mixed precision runs on CUDA only")
        self.captured: CapturedTrainStep | None = None
        if config.cuda_graph and self.device.type == "cuda":
            blocker = self._capture_blocker()
            if blocker is None:
                self.captured = CapturedTrainStep(self.model, config.optim.clip_norm)
            else:
                self._note(f"training eagerly, not as CUDA graphs: {blocker}")

    def _capture_blocker(self) -> str | None:
        """Why this run cannot capture its training step as CUDA graphs, if it cannot."""
        if self.dist.enabled:
            return "DDP all-reduces the gradients between the backward pass and the step"
        if self.amp:
            return "--amp (autocast) is not captured"
        if all(isinstance(t, RolloutTask) for t in self.curriculum.lessons):
            return "the model acts inside the episodes of this task (rollouts)"
        return None

    def close(self, wait: bool = True) -> None:
        """Close the metrics log and leave the process group (``wait``: as in
        :func:`~dnc_qa.train.distributed.shutdown`). The DDP wrappers go first: they hold the
        process group, which must be freed, and its worker threads joined, before Python
        shuts down."""
        self.log.close()
        if wait:  # (after a failure another process may never complete the exchange)
            self._drop_pending()
        if isinstance(self.net, DistributedDataParallel):
            self.net = self.net.module
        if isinstance(self.rollout_net, DistributedDataParallel):
            self.rollout_net = self.rollout_net.module
        D.shutdown(wait)

    # ------------------------------------------------------------------ state

    def _load_initial(self, source: Checkpoint, ref: str | Path) -> dict[str, object]:
        """Copy the weights of ``source`` (what ``ref`` names, read by :func:`plan_run`) into
        the fresh model; returns what the ``start`` record says of them."""
        from dnc_qa.app.engine import file_digest

        copied: list[str] | None = None
        if self.init_partial:
            copied = copy_matching_weights(self.model, source.weights, ref)
        else:
            load_weights(self.model, source)
        weights = source.path / WEIGHTS
        record: dict[str, object] = {
            "ref": str(ref), "path": str(source.path.resolve()), "task": source.config.task,
            "step": source.trainer.step, "sha256": file_digest(weights)}
        if copied is not None:
            record["copied"] = copied
        return record

    def _restore(self, loaded: Checkpoint, restore_rng: bool) -> None:
        load_weights(self.model, loaded)
        self.optimizer.load_state_dict(loaded.trainer.optimizer)
        old_rng = self.state.rng_states
        self.curriculum.lesson = min(loaded.trainer.lesson, len(self.curriculum.lessons) - 1)
        kept_rollbacks = self.state.rollbacks
        self.state = replace(loaded.trainer)
        if not self.dist.is_main:  # the saved window is already summed over processes
            self.state.window = MetricCounts()
        if restore_rng:
            states = loaded.trainer.rng_states
            if states.dim() == 2 and states.shape[0] == self.dist.world_size:
                self.generator.set_state(states[self.dist.rank].clone())
            else:
                self._note(
                    f"checkpoint was written by {states.shape[0]} process(es), this run has "
                    f"{self.dist.world_size}: data generators are reseeded"
                )
                self.generator = data_generator(self.config.seed + loaded.trainer.step, 0)
        else:
            self.state.rng_states = old_rng
            self.state.rollbacks = kept_rollbacks

    def _note(self, message: str) -> None:
        if self.dist.is_main:
            print(f"note: {message}", file=sys.stderr)

    def save(self) -> None:
        """Write a checkpoint of the current step (collective under DDP)."""
        self.state.lesson = self.curriculum.lesson
        self.state.rng_states = D.gather_rng_states(
            self._data_rng_state(), self.dist, self.device
        )
        self.state.optimizer = self.optimizer.state_dict()
        window = D.all_reduce_counts(self.state.window, self.dist, self.device)
        if self.dist.is_main:
            self.last_checkpoint = save_checkpoint(
                self.out_dir,
                self.model,
                self.config,
                replace(self.state, window=window),
                self.config.keep_checkpoints,
            )
        D.barrier(self.dist)

    def rollback(self) -> None:
        """Return to the last checkpoint, keeping the data generator where it is."""
        checkpoint = latest_checkpoint(self.out_dir)
        if checkpoint is None:
            raise TrainingDiverged("loss is not finite and there is no checkpoint to roll back to")
        rollbacks = self.state.rollbacks + 1
        if rollbacks > self.config.max_rollbacks:
            raise TrainingDiverged(
                f"loss stayed non-finite after {self.config.max_rollbacks} rollbacks "
                f"(step {self.state.step}); try a smaller --lr"
            )
        from_step = self.state.step
        checkpoint, loaded = self._usable_checkpoint(checkpoint)
        self._drop_pending()  # (the lesson may change back)
        self._restore(loaded, restore_rng=False)
        self.state.rollbacks = rollbacks
        self.state.bad_batches = 0
        self.log.write(
            "rollback", self.state.step, from_step=from_step, checkpoint=str(checkpoint),
            rollbacks=rollbacks,
        )
        self._note(f"non-finite loss: rolled back from step {from_step} to {checkpoint}")

    def _usable_checkpoint(self, latest: Path) -> tuple[Path, Checkpoint]:
        """The newest kept checkpoint that loads (a damaged or non-finite latest one falls
        back to the one before it); raises the latest one's error when none does."""
        kept = sorted((p for p in latest.parent.iterdir()
                       if p.is_dir() and p.name.startswith("step-") and p.name <= latest.name),
                      reverse=True)
        first_error: CheckpointError | None = None
        for path in [latest, *(p for p in kept if p != latest)]:
            try:
                return path, load_checkpoint(path)
            except CheckpointError as exc:
                first_error = first_error or exc
        assert first_error is not None
        raise first_error

    # ------------------------------------------------------------------ evaluation

    def evaluate(self, task: Task, episodes: int, generator: torch.Generator) -> Metrics:
        """Score ``task`` (its held-out data, if it has any) on ``episodes`` episodes split
        over the processes."""
        share = max(1, math.ceil(episodes / self.dist.world_size))
        held_out = getattr(task, "held_out", None)
        if held_out is not None:  # a data-set task (bAbI) is scored on stories kept out of training
            task = held_out()
        counts = evaluate_counts(
            self.model, task, share, generator, self.device,
            num_cells=self.config.model.num_cells if self.config.model.fit_cells else None,
            fit_cells=self.config.model.fit_cells,
        )
        return D.all_reduce_counts(counts, self.dist, self.device).summary()

    # ------------------------------------------------------------------ loop

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.amp:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _train_step(self) -> MetricCounts | None:
        """One batch: returns its counts, or ``None`` when it was skipped as non-finite."""
        task = self.curriculum.task
        if isinstance(task, RolloutTask):  # the model acts inside the episode (shortest path)
            B = self.config.batch_size
            with self._autocast():
                plan = self.curriculum.plan(B, self.generator)
                loss = self.rollout_net(plan, B, self.generator, self.device)
            inner = getattr(self.rollout_net, "module", self.rollout_net)
            counts = inner.counts
        elif self.captured is None and balances(task, self.dist):
            return self._shared_step(task)
        else:
            batch = self._sample()
            if self.captured is not None:
                try:
                    return self._captured_step(batch, task)
                except CaptureFailed as exc:  # this batch, and the run from here, eagerly
                    self._note(f"the training step could not be captured as a CUDA graph "
                               f"({exc}); training eagerly from here")
                    self.captured = None
                    self.optimizer.zero_grad(set_to_none=True)
            return self._batch_step(task, batch)
        return counts if self._finish_step(loss) else None

    def _sample(self) -> Batch:
        """The next training batch of this process (on the device)."""
        return self.curriculum.sample(self.config.batch_size, self.generator).to(self.device)

    def _shared_step(self, task: Task) -> MetricCounts | None:
        """One step on this process's share of the pooled batches (:mod:`dnc_qa.train.balance`).

        The exchange runs one step ahead: this step's pooled batch was sent while the last
        step finished; the next batch is drawn now and sent once this step's backward pass is
        done, so its all-gather runs while the optimiser steps.
        A checkpoint keeps the data generator as it was before that batch
        (:meth:`_data_rng_state`), so a resumed run draws it again."""
        if self._pending is None:
            pooled = pool_batch(self._sample(), self.dist)
        else:
            pooled = self._pending.wait()
        self._rng_before_pending = self.generator.get_state()
        self._pending = PendingPool(self._sample(), self.dist)
        min_cells = self._fitted_cells(0) if self.config.model.fit_cells else None
        return self._batch_step(task, share_of(pooled, task, self.dist, min_cells))

    def _drop_pending(self) -> None:
        """Forget the batch drawn ahead (its exchange completed, as every process does the
        same), with the data generator back where it was before it."""
        if self._pending is not None:
            self._pending.wait()
            self._pending = None
            assert self._rng_before_pending is not None
            self.generator.set_state(self._rng_before_pending)
        self._rng_before_pending = None

    def _data_rng_state(self) -> torch.Tensor:
        """The data generator's state as of the first batch not trained on yet."""
        if self._pending is not None and self._rng_before_pending is not None:
            return self._rng_before_pending
        return self.generator.get_state()

    def _batch_step(self, task: Task, batch: Batch) -> MetricCounts | None:
        """One step on ``batch`` (a task whose episodes do not depend on the model)."""
        state = min_cells = None
        lengths = lengths_for(task, batch.mask)
        if self.config.model.fit_cells and lengths is not None:
            min_cells = self._fitted_cells(0)  # rows grouped by length (run_fitted)
        elif self.config.model.fit_cells:
            cells = self._fitted_cells(batch.inputs.shape[1])
            if cells is not None:
                state = self.model.initial_state(
                    batch.inputs.shape[0], device=self.device, num_cells=cells
                )
        with self._autocast():
            logits = self.net(batch.inputs, lengths, state, min_cells)
        loss = task.loss(logits.float(), batch)
        if not self._finish_step(loss):
            return None
        return task.score(logits.detach().float(), batch)

    def _finish_step(self, loss: torch.Tensor) -> bool:
        """Backward, clipping and the optimiser step for ``loss``: whether the step was taken
        (not when it was skipped as non-finite)."""
        loss.backward()
        if self._pending is not None:  # the next pooled batch travels meanwhile
            self._pending.send()
        clip = self.config.optim.clip_norm
        norm = torch.nn.utils.clip_grad_norm_(
            self.model.parameters(), clip if clip is not None else float("inf")
        )
        finite = bool(torch.isfinite(loss).item()) and bool(torch.isfinite(norm).item())
        return self._apply_gradients(finite)

    def _apply_gradients(self, finite: bool) -> bool:
        """Take the optimiser step when every process's loss and gradients were finite;
        returns whether it was taken. The gradients are cleared either way."""
        (bad,) = D.any_flag([not finite], self.dist, self.device)
        if not bad:
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return not bad

    def _captured_step(self, batch: Batch, task: Task) -> MetricCounts | None:
        """One batch through the captured step (:mod:`dnc_qa.train.captured`): its counts,
        or ``None`` when it was skipped as non-finite. Raises
        :class:`~dnc_qa.train.captured.CaptureFailed` when the step cannot be captured."""
        assert self.captured is not None
        fit = self.config.model.fit_cells
        out = self.captured(batch, task, self._fitted_cells if fit else None)
        if not self._apply_gradients(bool(out.finite.item())):
            return None
        return task.score(out.logits.detach().float(), out.batch)

    def _fitted_cells(self, steps: int) -> int | None:
        return cells_for(self.model, steps, self.config.model.num_cells)

    def _lesson_text(self) -> str:
        return f"lesson {self.curriculum.lesson + 1}/{len(self.curriculum.lessons)}"

    def run(self) -> TrainResult:
        """Train until the step or time budget is spent or the target is reached."""
        cfg = self.config
        if self.fresh:
            self.fresh = False
            extra = {} if self.init_from is None else {"init_from": self.init_from}
            self.log.write("start", 0, config=cfg.to_json(), world_size=self.dist.world_size,
                           **extra)
            self.save()  # step 0: something to roll back to
        by_time = cfg.steps is None
        total = cfg.minutes * 60 if by_time else float(cfg.steps)
        description = f"{cfg.task} {cfg.model.kind}"
        start = time.monotonic()
        base_elapsed = self.state.elapsed_s
        window_start, window_episodes = start, 0
        stop_reason = "steps"
        last_saved = self.state.step
        with TrainProgress(self.progress_enabled, total, by_time, description) as bar:
            while True:
                time_up = False
                if cfg.minutes is not None:  # the processes stop together (one vote a step)
                    elapsed = base_elapsed + time.monotonic() - start
                    (time_up,) = D.any_flag([elapsed >= cfg.minutes * 60], self.dist,
                                            self.device)
                if time_up:
                    stop_reason = "time"
                    break
                if cfg.steps is not None and self.state.step >= cfg.steps:
                    break
                counts = self._train_step()
                if counts is None:
                    self.state.bad_batches += 1
                    self.log.write("skip", self.state.step + 1, bad_batches=self.state.bad_batches)
                    if self.state.bad_batches >= cfg.max_bad_batches:
                        self.rollback()
                        last_saved = self.state.step
                    continue
                self.state.bad_batches = 0
                self.state.step += 1
                step = self.state.step
                self.state.episodes += cfg.batch_size * self.dist.world_size
                window_episodes += cfg.batch_size * self.dist.world_size
                self.state.window = self.state.window + counts
                if step % cfg.log_every == 0:
                    m = D.all_reduce_counts(self.state.window, self.dist, self.device).summary()
                    now = time.monotonic()
                    rate = window_episodes / max(now - window_start, 1e-9)
                    window_start, window_episodes = now, 0
                    self.state.window = MetricCounts()
                    self.log.write(
                        "train", step, lesson=self.curriculum.lesson, **m._asdict(),
                        episodes_per_s=rate, elapsed_s=base_elapsed + now - start,
                    )
                    done = (base_elapsed + now - start) if by_time else step
                    bar.update(done, self._lesson_text(), m.loss, m.accuracy, rate)
                elif not by_time:
                    bar.update(step, self._lesson_text())
                if step % cfg.curriculum.eval_every == 0 and self._evaluate_lesson(step, bar):
                    stop_reason = "target"
                    break
                if step % cfg.checkpoint_every == 0:
                    self.state.elapsed_s = base_elapsed + time.monotonic() - start
                    self.save()
                    last_saved = step
        self.state.elapsed_s = base_elapsed + time.monotonic() - start
        if last_saved != self.state.step:
            self.save()
        final_task = self.curriculum.lessons[-1]
        final = self.evaluate(
            final_task,
            cfg.final_eval_episodes,
            eval_generator(cfg.seed + FINAL_EVAL_SEED_OFFSET, 0, self.dist.rank),
        )
        self.log.write("final", self.state.step, stop_reason=stop_reason, **final._asdict())
        return TrainResult(
            out_dir=self.out_dir,
            checkpoint=self.last_checkpoint,
            task=cfg.task,
            model=cfg.model.kind,
            steps=self.state.step,
            episodes=self.state.episodes,
            elapsed_s=self.state.elapsed_s,
            lesson=self.curriculum.lesson,
            lessons=len(self.curriculum.lessons),
            stop_reason=stop_reason,
            final=final,
        )

    def _evaluate_lesson(self, step: int, bar: TrainProgress) -> bool:
        """Evaluate the current lesson, maybe advance; return whether the target is reached."""
        cfg = self.config
        lesson = self.curriculum.lesson
        m = self.evaluate(
            self.curriculum.task,
            cfg.curriculum.eval_episodes,
            eval_generator(cfg.seed, step, self.dist.rank),
        )
        self.log.write("eval", step, lesson=lesson, **m._asdict())
        if self.curriculum.update(m.accuracy):
            self._drop_pending()  # drawn from the lesson before
            self.log.write("lesson", step, lesson=self.curriculum.lesson, accuracy=m.accuracy)
            bar.print(f"step {step}: {self._lesson_text()} (accuracy {m.accuracy:.3f})")
            return False
        target = cfg.stop_bit_error
        if target is None or not self.curriculum.final or m.bit_error_per_sequence >= target:
            return False
        # a larger confirmation set, so noise in the small evaluation does not stop the run
        check = self.evaluate(
            self.curriculum.task,
            cfg.final_eval_episodes,
            eval_generator(cfg.seed + 1, step, self.dist.rank),
        )
        self.log.write("target_check", step, **check._asdict())
        return check.bit_error_per_sequence < target


def train(
    config: TrainConfig, out_dir: Path | str, resume: bool = False, show_progress: bool = True,
    init_from: str | Path | None = None, init_partial: bool = False,
    tensorboard: str | Path | None = None,
) -> TrainResult:
    """Run (or resume) one training run; see :class:`Trainer` (``init_from``: a new run
    starts from those weights; ``init_partial``: only those of the same name and shape;
    ``tensorboard``: a folder for TensorBoard's event files)."""
    trainer = Trainer(config, Path(out_dir), resume=resume, show_progress=show_progress,
                      init_from=init_from, init_partial=init_partial,
                      tensorboard=None if tensorboard is None else Path(tensorboard))
    try:
        result = trainer.run()
    except BaseException:
        trainer.close(wait=False)
        raise
    trainer.close()
    return result
