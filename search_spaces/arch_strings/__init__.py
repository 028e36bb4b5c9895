"""Benchmark arch strings: one torch-free codec module per space with a table, named as the space.

A codec module defines `parse(text) -> arch dict` and `format(arch) -> text` (both raise ArchError
saying what is wrong) and `EXAMPLE`, one valid string. `nasbench.arch_strings` finds it by the
space's name, so `table`, `report` and the benchmark tables read arch strings without torch.
"""
