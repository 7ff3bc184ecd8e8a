"""Recipe search for the graph tasks with Optuna (``dncqa search``).

:mod:`~dnc_qa.search.space` says what is searched and how a trial's choices become
``dncqa train`` options; :mod:`~dnc_qa.search.study` runs the trials (each a real training
run in its own process, pruned early from its ``metrics.jsonl``) and scores them on fresh
held-out episodes against the rules that need no memory.
"""
