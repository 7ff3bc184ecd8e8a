"""Training metrics as JSON lines: one object per line, appended as training goes."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from dnc_qa.jsonout import dumps


class MetricsLog:
    """Appends JSON objects to ``path``; each line carries ``step`` and ``event``.

    Args:
        path: the ``.jsonl`` file.
        enabled: ``False`` on non-main DDP processes (nothing is written).
    """

    def __init__(self, path: Path, enabled: bool = True) -> None:
        self.path = Path(path)
        self.enabled = enabled

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


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """All records of a metrics file."""
    return [json.loads(x) for x in Path(path).read_text(encoding="utf-8").splitlines() if x]
