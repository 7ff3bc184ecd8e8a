"""Memory plots in the style of the DNC paper's figures: time runs left to right, memory
locations top to bottom, one panel each for write weightings, read weightings and usage, with
the episode's phases (description, query, planning, answer) marked.

Traces may hold torch tensors or NumPy arrays (the NumPy inference path); both are plotted
as NumPy float32 arrays, and nothing here imports torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dnc_qa.errors import DncQaError

if TYPE_CHECKING:
    from torch import Tensor

    Trace = dict[str, Tensor | np.ndarray]
else:
    Trace = dict[str, Any]

Phases = Sequence[tuple[str, int, int]]


def as_float32(values: Any) -> np.ndarray:
    """A tensor (any device) or an array as a NumPy float32 array."""
    if hasattr(values, "detach"):  # a torch tensor
        values = values.detach().to("cpu").float().numpy()
    return np.asarray(values, dtype=np.float32)


def join_traces(
    first: Trace, first_phases: Phases, second: Trace, second_phases: Phases
) -> tuple[dict[str, np.ndarray], list[tuple[str, int, int]]]:
    """Concatenate two traces in time (e.g. the stored description phase and a query), as
    NumPy float32 arrays."""
    keys = sorted(set(first) & set(second)) if first else sorted(second)
    offset = next(iter(first.values())).shape[0] if first else 0
    joined = {k: np.concatenate([as_float32(first[k]), as_float32(second[k])]) if first
              else as_float32(second[k]) for k in keys}
    phases = list(first_phases) + [(n, a + offset, b + offset) for n, a, b in second_phases]
    return joined, phases


def check_plot_path(path: str | Path) -> Path:
    """Refuse a plot path that is not ``*.png`` in an existing folder (before any work)."""
    out = Path(path)
    if out.suffix.lower() != ".png":
        raise DncQaError(f"--plot {out}: the plot is a PNG; give a file name ending in .png")
    if not out.parent.is_dir():
        raise DncQaError(f"--plot {out}: folder {out.parent} does not exist")
    return out


def plot_memory(trace: Trace, phases: Phases, path: str | Path, title: str = "") -> Path:
    """Write a PNG of ``trace`` (``write_weights`` [T, Hw, N], ``read_weights`` [T, R, N],
    ``usage`` [T, N]; any subset) to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = check_plot_path(path)
    panels = []
    if "write_weights" in trace:
        panels.append(("write weightings", as_float32(trace["write_weights"]).sum(1), "Reds"))
    if "read_weights" in trace:
        panels.append(("read weightings", as_float32(trace["read_weights"]).sum(1), "Blues"))
    if "usage" in trace:
        panels.append(("usage", as_float32(trace["usage"]), "Greens"))
    if not panels:
        raise DncQaError("nothing to plot: the model has no memory (LSTM) or was not run")
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 2.4 * len(panels) + 0.6), sharex=True,
                             squeeze=False)
    for ax, (name, values, cmap) in zip(axes[:, 0], panels, strict=True):
        ax.imshow(values.T, aspect="auto", interpolation="nearest", cmap=cmap,
                  vmin=0.0, vmax=max(1e-6, float(values.max())), origin="upper")
        ax.set_ylabel(f"{name}\nlocation", fontsize=8)
        for i, (phase, start, end) in enumerate(phases):
            if i:
                ax.axvline(start - 0.5, color="black", linewidth=0.8)
            if ax is axes[0, 0]:
                ax.text((start + end - 1) / 2, 1.02, phase, transform=ax.get_xaxis_transform(),
                        ha="center", va="bottom", fontsize=7, clip_on=False)
    axes[-1, 0].set_xlabel("time step")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    try:
        fig.savefig(out, dpi=110)
    except OSError as exc:
        raise DncQaError(f"--plot {out}: cannot write: {exc.strerror or exc}") from None
    finally:
        plt.close(fig)
    return out
