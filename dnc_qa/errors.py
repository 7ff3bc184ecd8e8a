"""Exceptions that mean "the user gave us something we cannot use", and one for a command
that could not finish for another reason.

The CLI prints any :class:`DncQaError` as one line and exits with status 2, and a
:class:`CommandFailed` as one line with its own exit status.
"""


class DncQaError(Exception):
    """Base class for every error caused by user input (files, names, options)."""


class CheckpointError(DncQaError):
    """A checkpoint or model file is missing, corrupt or incompatible."""


class CommandFailed(Exception):
    """A command that could not finish though its input was good (a training process crashed,
    the command was stopped by a signal): one line, and the exit status ``exit_code``."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code
