"""The results side: the results table, Pareto fronts and hypervolume, tables and output formats (no torch)."""
