"""A torch-free forward pass of the trained networks, for answering questions quickly.

``dncqa ask`` runs a few query steps from a stored memory; importing torch costs more than
the whole answer. This package does the same arithmetic in NumPy:

* :mod:`~dnc_qa.inference.ops`: activations and the linear layer;
* :mod:`~dnc_qa.inference.addressing`: one function per memory mechanism (content addressing,
  retention and usage, sorted allocation, write weights, erase and add, dense temporal links
  and precedence, forward/backward weightings, read modes; NTM interpolation, shift, sharpen);
* :mod:`~dnc_qa.inference.dnc` and :mod:`~dnc_qa.inference.ntm`: the memory steps, with the
  DNC options (masking, deallocation, link sharpness) and several write heads;
* :mod:`~dnc_qa.inference.controller`: the LSTM and feedforward controllers;
* :mod:`~dnc_qa.inference.models`: DNC / NTM / LSTM baseline networks built from a
  ``model.safetensors`` read with ``safetensors.numpy``.

It is checked value by value against the torch models (``tests/inference``). Training,
ingest (the description phase) and anything it does not support (sparse links, unknown
config options) stay on torch: :class:`UnsupportedModel` tells the caller to fall back.
"""

from dnc_qa.inference.models import (
    UnsupportedModel,
    build_model,
    load_model,
    load_weights,
    model_settings,
)

__all__ = ["UnsupportedModel", "build_model", "load_model", "load_weights", "model_settings"]
