"""Reproducing the DNC paper's graph-task results: ``dncqa reproduce graph-tasks``.

:mod:`~dnc_qa.reproduce.budgets` (what each budget trains), :mod:`~dnc_qa.reproduce.testmaps`
(the test map and family-tree queries), :mod:`~dnc_qa.reproduce.scoring` (models on test
queries), :mod:`~dnc_qa.reproduce.report` (report.md / report.json / PNGs) and
:mod:`~dnc_qa.reproduce.pipeline` (the whole run).
"""
