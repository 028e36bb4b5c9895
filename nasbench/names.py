"""The names the command line offers, without importing what they name (no torch, no optuna).

Each tuple is the one definition its module uses (data.DATASET_NAMES, search.samplers.SAMPLER_NAMES,
zero_cost.ZERO_COST_PROXIES keys); tests/test_cli.py checks that they agree.
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
