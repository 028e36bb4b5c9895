"""The names the command line offers, without importing what they name (no torch, no optuna,
no pandas), so that building the parser and --help stay fast.

DATASET_NAMES and SAMPLER_NAMES are the definitions nasbench.data and nasbench.search.samplers
import; ZERO_COST_NAMES (the keys of zero_cost.ZERO_COST_PROXIES, a table of functions) and FORMATS
(results.formats.FORMATS, beside pandas) are copies: tests/test_cli.py checks that all agree.
"""

from __future__ import annotations

DATASET_NAMES = (
    "digits",
    "cifar10",
    "cifar100",
    "mnist",
    "fashion_mnist",
    "imagefolder:PATH",
    "synthetic",
)
SAMPLER_NAMES = ("tpe", "nsga2", "random", "qmc", "gp", "grid", "local")
ZERO_COST_NAMES = ("synflow", "nwot", "snip", "grad_norm")
FORMATS = ("table", "json", "csv", "md", "latex")
