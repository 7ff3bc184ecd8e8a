"""dnc-qa: Differentiable Neural Computers on graphs and knowledge bases."""

__version__ = "0.1.0"
