"""A database written by the version before ProxyBudget and the workflow layer opens and extends
without training anything again: the same commands find every stored row by its protocol."""

from __future__ import annotations

import contextlib
import io
import shutil
from pathlib import Path

import pandas as pd
import pytest

from nasbench.cli import main
from nasbench.results import store

# Written by the commit before ProxyBudget (d35c593) with:
#   search --space mobilenet --trials 4 --workers 1 --epochs 2 --train-fraction 0.3 --study-name s
#   retrain --study-name s --trial 0 --seeds 2 --epochs 3
#   baseline --models resnet18,mobilenet_v2 --study-name s --epochs 2 --train-fraction 0.3
#   fidelity --benchmark nas-bench-macro --dataset digits --archs 4
#            --budget epochs=2,train_fraction=0.2 --zero-cost synflow
# (budgets whose warm-up the one-third cap leaves as it was: their protocol hashes are unchanged)
FIXTURE = Path(__file__).parent / "fixtures" / "before_budget.db"
RERUNS = [
    ["search", "--space", "mobilenet", "--trials", "4", "--workers", "1", "--epochs", "2",
     "--train-fraction", "0.3", "--study-name", "s"],
    ["retrain", "--study-name", "s", "--trial", "0", "--seeds", "2", "--epochs", "3"],
    ["baseline", "--models", "resnet18,mobilenet_v2", "--study-name", "s", "--epochs", "2",
     "--train-fraction", "0.3"],
    ["fidelity", "--benchmark", "nas-bench-macro", "--dataset", "digits", "--archs", "4",
     "--budget", "epochs=2,train_fraction=0.2", "--zero-cost", "synflow"],
]  # fmt: skip


def cli(*args: str) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, err.getvalue()


@pytest.mark.slow
def test_a_database_of_the_previous_version_opens_and_extends_without_retraining(tmp_path):
    db = tmp_path / "old.db"
    shutil.copyfile(FIXTURE, db)
    url = f"sqlite:///{db}"
    before = store.load_results(url)
    assert len(before) == 24
    for args in RERUNS:
        code, err = cli(*args, "--storage", url)
        assert code == 0, (args[0], err)
        assert len(store.load_results(url)) == len(before), (args[0], "trained again", err)
    # a rerun with more trials and no budget flags resumes the study's own budget
    code, err = cli("search", "--space", "mobilenet", "--trials", "5", "--workers", "1",
                    "--study-name", "s", "--storage", url)  # fmt: skip
    assert code == 0, err
    after = store.load_results(url)
    new = after[~after["id"].isin(before["id"])]
    assert len(new) == 1 and new["source"].tolist() == ["search"]
    searched = before[before["source"] == "search"]
    assert new["protocol_hash"].tolist() == [searched["protocol_hash"].iloc[0]]
    assert new["budget"].tolist() == ["epochs=2,train_fraction=0.3"]
    # the old rows are as they were
    old = after[after["id"].isin(before["id"])].reset_index(drop=True)
    assert _plain(old) == _plain(before)


def _plain(frame: pd.DataFrame) -> list[dict]:
    """Rows as plain records, every missing value None (a column's dtype may differ once a new
    row joins it)."""
    frame = frame.reset_index(drop=True).astype(object)
    return frame.where(frame.notna(), None).to_dict("records")
