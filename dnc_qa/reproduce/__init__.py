"""Reproducing the DNC paper's results: ``dncqa reproduce graph-tasks`` and ``reproduce babi``.

Graph tasks: :mod:`~dnc_qa.reproduce.budgets` (what each budget trains),
:mod:`~dnc_qa.reproduce.testmaps` (the test map and family-tree queries),
:mod:`~dnc_qa.reproduce.scoring` (models on test queries), :mod:`~dnc_qa.reproduce.report_data`
(the report's rows), :mod:`~dnc_qa.reproduce.report` (report.md / report.json / PNGs) and
:mod:`~dnc_qa.reproduce.pipeline` (the whole run). bAbI: :mod:`~dnc_qa.reproduce.babi_report`
(trained runs re-measured on the test split, beside :mod:`~dnc_qa.reproduce.paper`'s numbers).
"""
