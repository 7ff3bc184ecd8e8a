"""Exceptions that mean "the user gave us something we cannot use".

The CLI prints any :class:`DncQaError` as one line and exits with status 2.
"""


class DncQaError(Exception):
    """Base class for every error caused by user input (files, names, options)."""


class CheckpointError(DncQaError):
    """A checkpoint or model file is missing, corrupt or incompatible."""
