"""Seeds: every generator takes an ``int`` seed or a :class:`numpy.random.Generator`."""

from __future__ import annotations

import numpy as np

Seed = int | np.random.Generator | None


def as_rng(seed: Seed) -> np.random.Generator:
    """A generator for ``seed`` (an existing generator is used as it is, and advanced)."""
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
