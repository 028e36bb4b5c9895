"""Evaluate archs under a proxy budget and store their rows: contexts, row identity, resume, studies."""
