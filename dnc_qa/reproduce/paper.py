"""The DNC paper's graph-task results (Graves et al. 2016, Extended Data Tables 2-5).

Also the published bAbI results the bAbI report sets beside ours (:data:`BABI_PAPER`).
"""

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


class BabiPaperResult(NamedTuple):
    """One published bAbI en-10k result (20 tasks trained jointly), in percent of questions.

    Only the numbers ``shared/spec/paper-setups.md`` gives are filled; the rest are ``None``.
    ``best_*`` are the best run's mean error and failed tasks (error above 5%), ``mean_*``
    the mean (``*_sd`` its standard deviation) over ``runs`` runs.
    """

    model: str
    source: str
    runs: int | None = None
    best_error: float | None = None
    best_failed: int | None = None
    mean_error: float | None = None
    mean_error_sd: float | None = None
    mean_failed: float | None = None
    mean_failed_sd: float | None = None


BABI_PAPER: dict[str, BabiPaperResult] = {
    r.model: r
    for r in (
        # Graves et al. 2016, Extended Data Tables 1-2 (best run; mean of 20 runs).
        BabiPaperResult("DNC1", "Graves et al. 2016, ED Tables 1-2", 20, 4.3, 2, 16.7, 7.6,
                        11.2, 5.4),
        BabiPaperResult("DNC2", "Graves et al. 2016, ED Tables 1-2", 20, 3.8, 2, 20.8, 7.1,
                        14.0, 5.0),
        BabiPaperResult("LSTM", "Graves et al. 2016, ED Tables 1-2 (512 units)", 20, 25.2, 15,
                        27.3, 0.8, 17.1, 1.0),
        BabiPaperResult("NTM", "Graves et al. 2016, ED Tables 1-2", 20, 20.1, None, 28.5, 2.9,
                        17.3, 0.7),
        BabiPaperResult("MemN2N", "Graves et al. 2016, ED Tables 1-2 (earlier best)", None, 7.5,
                        6),
        # Csordás & Schmidhuber 2019 (ICLR): mean error only.
        BabiPaperResult("DNC (Csordás & Schmidhuber)", "Csordás & Schmidhuber 2019",
                        mean_error=16.9, mean_error_sd=5.2),
        BabiPaperResult("DNC-DS", "Csordás & Schmidhuber 2019", mean_error=15.3,
                        mean_error_sd=3.5),
        BabiPaperResult("DNC-MDS", "Csordás & Schmidhuber 2019", mean_error=11.0,
                        mean_error_sd=3.8),
        BabiPaperResult("DNC-MS", "Csordás & Schmidhuber 2019", mean_error=10.5,
                        mean_error_sd=1.9),
        BabiPaperResult("DNC-MD", "Csordás & Schmidhuber 2019", mean_error=9.5,
                        mean_error_sd=1.6),
        # Franke et al. 2018 (rsDNC, arXiv:1807.02658): mean of 5 runs.
        BabiPaperResult("rsDNC", "Franke et al. 2018", 5, mean_error=6.3, mean_error_sd=2.7,
                        mean_failed=3.2),
        BabiPaperResult("rsDNC-bi", "Franke et al. 2018 (bidirectional)", 5, mean_error=3.2,
                        mean_error_sd=0.5, mean_failed=1.4),
        BabiPaperResult("rsDNC-bi, task 16 augmented", "Franke et al. 2018", 5,
                        mean_error=0.4, mean_error_sd=0.3, mean_failed=0),
        # Rae et al. 2016 (SAM / SDNC, NIPS): best run; mean of 15 runs.
        BabiPaperResult("SDNC", "Rae et al. 2016", 15, 2.9, 1, 6.4, 2.5),
        BabiPaperResult("DNC (Rae et al.)", "Rae et al. 2016", 15, 5.2, 4, 12.8, 4.7),
    )
}
"""Published bAbI results as collected in ``shared/spec/paper-setups.md`` (sections 1 and 3);
the per-task numbers of the DNC paper's ED Table 1 are not there and are not copied."""
