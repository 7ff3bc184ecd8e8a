"""The ``dncqa`` command line (installed as the ``dnc_qa.cli`` package)."""
