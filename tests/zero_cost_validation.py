"""Zero-cost proxies against NASLib's published NAS-Bench-201 scores: the CIFAR-10 batch, the scoring
of cells and the comparison, shared by tests/test_zero_cost.py and experiments/zero_cost_nb201.py.

The batch is read straight from ../shared/data/cifar10_jpeg.zip: only the chosen JPEG files are
decompressed, never the whole archive. Images are normalised with NASLib's CIFAR-10 per-channel mean
and std (the constants of its `_data_transforms_cifar10`, the data its published scores were
computed on) through `nasbench.data.normalize`, the function that standardises every dataset;
labels follow ImageFolder's convention (class folders in sorted order). NASLib's random crop and
flip are left out: on 80 cells they changed no Spearman figure by more than 0.003.
"""

from __future__ import annotations

import io
import os
import time
import zipfile

import numpy as np
import pandas as pd
import torch
from PIL import Image
from scipy.stats import spearmanr

from nasbench.data import normalize
from nasbench.zero_cost import ZERO_COST_PROXIES, zero_cost_score, zero_cost_scores
from search_spaces import nb201

CIFAR10_MEAN = (0.49139968, 0.48215827, 0.44653124)
CIFAR10_STD = (0.24703233, 0.24348505, 0.26158768)

# issue 14: rank like the published scores of the same proxy (synflow is data-free, so its only
# difference is the random initialisation), and predict accuracy as well as they do
MIN_RHO_VS_PUBLISHED = {"synflow": 0.95, "nwot": 0.8, "snip": 0.8, "grad_norm": 0.8}
MAX_ACCURACY_RHO_GAP = 0.05


def cifar10_batch_from_zip(
    path: str | os.PathLike[str], n: int = 64, seed: int = 0, split: str = "train"
) -> tuple[torch.Tensor, torch.Tensor]:
    """`n` images (float32, N x 3 x 32 x 32, normalised) and labels (int64), chosen by `seed`."""
    with zipfile.ZipFile(path) as archive:
        names = sorted(
            name
            for name in archive.namelist()
            if name.endswith(".jpg") and name.split("/")[-3] == split
        )
        classes = sorted({name.split("/")[-2] for name in names})
        chosen = np.random.default_rng(seed).choice(len(names), size=n, replace=False)
        images, labels = [], []
        for index in chosen:
            name = names[index]
            with Image.open(io.BytesIO(archive.read(name))) as image:
                array = np.asarray(image.convert("RGB"), dtype=np.uint8)
            images.append(torch.from_numpy(array.copy()).permute(2, 0, 1))
            labels.append(classes.index(name.split("/")[-2]))
    return normalize(torch.stack(images), CIFAR10_MEAN, CIFAR10_STD), torch.tensor(labels)


def cifar10_cells(table_path: str | os.PathLike[str]) -> pd.DataFrame:
    """The CIFAR-10 rows of nb201_zero_cost_725.csv, indexed 0..724 in file order."""
    table = pd.read_csv(table_path)
    return table[table["dataset"] == "cifar10"].reset_index(drop=True)


def build_cell(arch: str, seed: int) -> torch.nn.Module:
    """The NAS-Bench-201 CIFAR-10 network of a cell string, initialised from `seed`."""
    torch.manual_seed(seed)
    return nb201.build(nb201.from_nb201_string(arch), 10, 3, 32)


def score_cells(
    cells: pd.DataFrame, inputs: torch.Tensor, targets: torch.Tensor, *, timed: bool = False
) -> pd.DataFrame:
    """Our score of every proxy for every cell (a network seeded by the cell's row index).

    With `timed`, each proxy is computed on its own and its seconds are kept in `<name>_s`;
    without, the data-dependent ones share one pass (`zero_cost_scores`): the same values, faster.
    """
    rows = []
    for index, arch in cells["arch"].items():
        model = build_cell(arch, int(index))
        if not timed:
            rows.append(zero_cost_scores(ZERO_COST_PROXIES, model, inputs, targets))
            continue
        row = {}
        for name in ZERO_COST_PROXIES:
            start = time.perf_counter()
            row[name] = zero_cost_score(name, model, inputs, targets)
            row[f"{name}_s"] = time.perf_counter() - start
        rows.append(row)
    return pd.DataFrame(rows, index=cells.index)


def spearman_nan_last(scores: pd.Series, other: pd.Series) -> float:
    """Spearman rho, a NaN in `scores` (a cut-off network) ranked below every score, rows where
    `other` is missing dropped (one published synflow score is missing)."""
    keep = other.notna()
    return float(spearmanr(scores[keep].fillna(-np.inf), other[keep]).statistic)


def compare(ours: pd.DataFrame, cells: pd.DataFrame) -> pd.DataFrame:
    """Per proxy: Spearman of our scores with the published ones, of each with the accuracy, the
    gap between those two, the published/ours magnitude ratio, and pass/fail against issue 14."""
    rows = []
    for name, minimum in MIN_RHO_VS_PUBLISHED.items():
        rho = spearman_nan_last(ours[name], cells[name])
        ours_acc = spearman_nan_last(ours[name], cells["valid_acc"])
        published_acc = spearman_nan_last(cells[name], cells["valid_acc"])
        finite = np.isfinite(ours[name]) & np.isfinite(cells[name]) & (cells[name] != 0)
        rows.append(
            {
                "proxy": name,
                "rho_vs_published": rho,
                "min_rho": minimum,
                "rho_ours_vs_acc": ours_acc,
                "rho_published_vs_acc": published_acc,
                "acc_rho_gap": ours_acc - published_acc,
                "median_ours_over_published": float(
                    np.median(ours[name][finite] / cells[name][finite])
                ),
                "passes": rho >= minimum and abs(ours_acc - published_acc) <= MAX_ACCURACY_RHO_GAP,
            }
        )
    return pd.DataFrame(rows).set_index("proxy")
