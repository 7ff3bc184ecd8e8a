"""dnc-qa: Differentiable Neural Computers on graphs and knowledge bases.

The public API (:mod:`dnc_qa.api`), loaded on first use so that ``import dnc_qa`` stays cheap
(no torch, spaCy or networkx until a function needs them):

* :func:`ingest` a graph file, transit folder or text knowledge base -> a :class:`Graph`;
  :meth:`Graph.ask` a question -> an :class:`Answer` (model answer, confidence, exact answer,
  agreement, note, memory trace); :func:`open_graph` / :func:`list_graphs` for stored
  ones;
* :func:`load_model` a shipped or trained network; :func:`train` one; :func:`evaluate` it.

``dnc_qa.train`` is also the training subpackage (:mod:`dnc_qa.train`); the package object is
callable, so ``dnc_qa.train(task, model, out=..., steps=...)`` trains either way.
"""

from __future__ import annotations

import sys
import types
from typing import Any

__version__ = "0.1.0"

_API = ("Answer", "EvalResult", "Graph", "evaluate", "ingest", "list_graphs", "load_model",
        "open_graph")
__all__ = [*_API, "train", "__version__"]


class _CallableModule(types.ModuleType):
    """The :mod:`dnc_qa.train` subpackage, callable as :func:`dnc_qa.api.train`."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from dnc_qa.api import train

        return train(*args, **kwargs)


class _Package(types.ModuleType):
    """This package's module type: lazy API attributes, and a callable ``train``."""

    def __getattr__(self, name: str) -> Any:
        if name in _API:
            from dnc_qa import api

            value = getattr(api, name)
            setattr(self, name, value)
            return value
        if name == "train":
            import dnc_qa.train  # noqa: F401  (the import binds it here, via __setattr__)

            return self.__dict__["train"]
        raise AttributeError(f"module 'dnc_qa' has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        # The import system binds each imported subpackage here; make `train` callable.
        if name == "train" and type(value) is types.ModuleType:
            value.__class__ = _CallableModule
        super().__setattr__(name, value)

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *__all__})


sys.modules[__name__].__class__ = _Package
