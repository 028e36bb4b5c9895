"""Space `channel_bench_resnet`'s arch strings: digit d in 1..4 = d quarters of a width's max."""

from __future__ import annotations

from search_spaces.arch_strings._macro import channel_archs

# widest channel count of each position (digit 4); digit d gives round(d * M / 4)
MAX_WIDTHS = (256, 256, 256, 512, 512, 512, 512)
ARCHS = channel_archs("channel_bench_resnet", MAX_WIDTHS)
EXAMPLE = "4344424"

parse = ARCHS.from_string
format = ARCHS.to_string
