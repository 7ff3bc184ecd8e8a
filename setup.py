"""Package discovery: every ``dnc_qa*`` package, plus the ``cli/`` folder as ``dnc_qa.cli``.

Everything else (metadata, dependencies, the folder mapping) is in pyproject.toml.
"""

from setuptools import find_packages, setup

setup(packages=[*find_packages(include=["dnc_qa*"]), "dnc_qa.cli"])
