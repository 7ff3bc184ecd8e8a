"""``python -m dnc_qa ...`` runs the ``dncqa`` command (useful where scripts are not on PATH)."""

from dnc_qa.cli.main import run

run()
