"""Baselines beyond the paper on the graph tasks' queries: an exact solver and a small GNN."""
