"""Evaluate one architecture: an arch and a context in, one results row out (trained or looked up)."""
