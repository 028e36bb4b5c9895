"""Space `nas_bench_macro`'s arch strings: one digit per layer, the index of its op (no torch)."""

from __future__ import annotations

from search_spaces.arch_strings._macro import DigitArchs

OPS = ("identity", "mb_k3_e3", "mb_k5_e6")
LAYERS = 8
ARCHS = DigitArchs("nas_bench_macro", "layers", (OPS,) * LAYERS, first_digit=0)
EXAMPLE = "01201122"

parse = ARCHS.from_string
format = ARCHS.to_string
