"""Training metrics as JSON lines: one object per line, appended as training goes."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from dnc_qa.errors import DncQaError
from dnc_qa.jsonout import dumps

TENSORBOARD_SCALARS: dict[str, dict[str, str]] = {
    "train": {"loss": "train/loss", "accuracy": "train/accuracy",
              "episodes_per_s": "train/episodes_per_s", "lesson": "lesson"},
    "eval": {"accuracy": "eval/accuracy", "loss": "eval/loss"},
    "lesson": {"lesson": "lesson"},
    "final": {"accuracy": "final/accuracy", "loss": "final/loss"},
}
"""The fields of ``metrics.jsonl`` events that ``--tensorboard`` logs, by event: field ->
TensorBoard tag."""

TENSORBOARD_MISSING = ("--tensorboard needs the tensorboard package: pip install tensorboard "
                       "(or pip install -e .[tensorboard])")


def summary_writer_class() -> Any:
    """``torch.utils.tensorboard.SummaryWriter``; a one-line error naming ``pip install
    tensorboard`` when the package is not installed."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise DncQaError(TENSORBOARD_MISSING) from None
    return SummaryWriter


class MetricsLog:
    """Appends JSON objects to ``path``; each line carries ``step`` and ``event``.

    Args:
        path: the ``.jsonl`` file.
        enabled: ``False`` on non-main DDP processes (nothing is written).
        tensorboard: also log the scalars of :data:`TENSORBOARD_SCALARS` to this folder
            through ``torch.utils.tensorboard.SummaryWriter`` (main process only).
    """

    def __init__(self, path: Path, enabled: bool = True,
                 tensorboard: Path | None = None) -> None:
        self.path = Path(path)
        self.enabled = enabled
        self.board: Any = None
        if enabled and tensorboard is not None:
            self.board = summary_writer_class()(log_dir=str(tensorboard))

    def truncate_after(self, step: int) -> None:
        """Drop lines logged after ``step`` (a resumed run repeats those steps)."""
        if not self.enabled or not self.path.exists():
            return
        kept = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short when the process was killed
            if int(record.get("step", 0)) <= step:
                kept.append(line)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text("".join(k + "\n" for k in kept), encoding="utf-8")
        os.replace(tmp, self.path)

    def write(self, event: str, step: int, **fields: Any) -> None:
        if not self.enabled:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        record = {"event": event, "step": step, **fields}
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(dumps(record, sort_keys=True) + "\n")
        if self.board is not None:
            for key, tag in TENSORBOARD_SCALARS.get(event, {}).items():
                value = fields.get(key)
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    self.board.add_scalar(tag, value, step)
            self.board.flush()

    def close(self) -> None:
        """Close the TensorBoard writer, if any."""
        if self.board is not None:
            self.board.close()
            self.board = None


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """All records of a metrics file."""
    return [json.loads(x) for x in Path(path).read_text(encoding="utf-8").splitlines() if x]
