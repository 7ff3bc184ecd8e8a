"""One module per file format; :mod:`dnc_qa.graphs.io` picks among them."""
