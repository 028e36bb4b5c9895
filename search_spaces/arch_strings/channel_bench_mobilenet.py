"""Space `channel_bench_mobilenet`'s arch strings: digit d in 1..4 = d quarters of a width's max."""

from __future__ import annotations

from search_spaces.arch_strings._macro import channel_archs

# widest channel count of each position (digit 4); digit d gives round(d * M / 4)
MAX_WIDTHS = (128, 768, 768, 768, 256, 1536, 1024)
ARCHS = channel_archs("channel_bench_mobilenet", MAX_WIDTHS)
EXAMPLE = "3334344"

parse = ARCHS.from_string
format = ARCHS.to_string
