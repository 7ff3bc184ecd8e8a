"""The DNC paper's graph-task results (Graves et al. 2016, Extended Data Tables 2-5)."""

from __future__ import annotations

from typing import NamedTuple


class PaperResult(NamedTuple):
    test: str
    """What the test graph and queries were."""
    dnc: float
    dnc_sd: float
    final_lesson: float
    lstm: float | None
    """The LSTM baseline's best (traversal only: never passed lesson 1)."""


PAPER = {
    "traversal": PaperResult("7-step walks, London Underground", 0.988, 0.016, 0.990, 0.37),
    "shortest_path": PaperResult("all 4-step paths, London Underground", 0.553, 0.064, 0.640,
                                 None),
    "inference": PaperResult("4-step relations, family tree", 0.818, 0.135, 0.955, None),
}
"""Mean over 20 seeds; the final-lesson column is accuracy on the last lesson's graphs."""

PAPER_EPISODES = 1_000_000
"""The only training length given: traversal needed about 1M examples to reach its last lesson."""
