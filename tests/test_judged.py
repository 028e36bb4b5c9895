"""A search judged by NAS-Bench-Macro's truth: hypervolume ratio, regret under MACs limits, tau;
`nasbench judge` on a real database, its refusals; the study table's truth column."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import optuna
import pandas as pd
import pytest

from nasbench.arch import arch_hash
from nasbench.arch_strings import parse_arch_string
from nasbench.benchmarks import load_benchmark
from nasbench.cli import main
from nasbench.results import store
from nasbench.results.judged import (
    MACS_LIMITS,
    REFERENCE_ACC,
    judged_figures,
    table_best,
    table_points,
)
from nasbench.results.pareto import non_dominated
from nasbench.workflow.studies import make_storage

SPACE = "nas_bench_macro"
LIMITS = ("30M", "45M", "60M")


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("nas-bench-macro")


@pytest.fixture(scope="module")
def true_front(bench) -> list[str]:
    """The table's keys on its true front of truth against MACs."""
    frame = bench.frame
    mask = non_dominated(frame[["truth", "macs"]].to_numpy(float), ["maximize", "minimize"])
    return list(frame.index[mask])


def _rows(bench, keys, own=None, **columns) -> pd.DataFrame:
    """Search rows of the table's archs `keys`: own accuracy `own` (default: their truth)."""
    frame = bench.frame.loc[keys]
    archs = [parse_arch_string(SPACE, key) for key in keys]
    rows = pd.DataFrame(
        {
            "study_name": "s",
            "source": "search",
            "trial_number": range(len(keys)),
            "arch": archs,
            "arch_hash": [arch_hash(a) for a in archs],
            "status": "complete",
            "val_acc": list(frame["truth"] if own is None else own),
            "macs": list(frame["macs"]),
            "truth_acc": list(frame["truth"]),
        }
    )
    return rows.assign(**columns)


def _best_under(bench, limit: float) -> str:
    under = bench.frame[bench.frame["macs"] <= limit]
    return under["truth"].idxmax()


def test_the_tables_best_truth_under_30_45_and_60_million_macs(bench):
    table = table_points(bench)
    bests = [round(table_best(table, limit), 2) for limit in MACS_LIMITS]
    assert bests == [89.38, 91.86, 92.57]


def test_a_search_that_found_the_true_front_has_ratio_one_and_no_regret(bench, true_front):
    figures = judged_figures(_rows(bench, true_front), bench)
    assert figures["hv_ratio"] == pytest.approx(1.0)
    assert figures["hv_found"] == pytest.approx(figures["hv_true"])
    assert 0 < figures["hv_true"] < 1
    assert [figures[f"regret_{limit}"] for limit in LIMITS] == pytest.approx([0, 0, 0])
    assert [round(figures[f"best_truth_{limit}"], 2) for limit in LIMITS] == [89.38, 91.86, 92.57]
    assert figures["archs"] == figures["front_size"] == len(true_front)


def test_a_misleading_proxy_is_charged_the_truth_it_gave_up(bench):
    best = _best_under(bench, 30e6)
    macs = bench.frame["macs"]
    cheaper = bench.frame[macs <= macs[best]]
    worse = cheaper["truth"].idxmin()  # looks best to the proxy under 30 M, but is far from it
    figures = judged_figures(_rows(bench, [best, worse], own=[90.0, 95.0]), bench)
    truth = bench.frame["truth"]
    assert figures["best_truth_30M"] == truth[worse]
    assert figures["regret_30M"] == pytest.approx(truth[best] - truth[worse])
    assert figures["regret_30M"] > 4
    # above 30 M the search has nothing cheaper to pick from: the same pick
    assert figures["regret_60M"] == pytest.approx(truth[macs <= 60e6].max() - truth[worse])
    assert figures["front_size"] == 1  # by its own accuracy the misleading arch dominates
    assert figures["hv_ratio"] == 0  # its truth is below the reference accuracy


def test_the_hypervolume_of_one_found_arch_is_its_box_to_the_fixed_reference(bench):
    key = _best_under(bench, 45e6)
    truth, macs = bench.frame.loc[key, ["truth", "macs"]]
    figures = judged_figures(_rows(bench, [key]), bench)
    largest = bench.frame["macs"].max()
    box = (truth - REFERENCE_ACC) / (100 - REFERENCE_ACC) * (1 - macs / (1.1 * largest))
    assert figures["hv_found"] == pytest.approx(box)
    assert figures["hv_ratio"] == pytest.approx(box / figures["hv_true"])


def test_an_arch_above_every_limit_has_no_pick_and_nan_regret(bench):
    key = bench.frame["macs"].idxmax()
    figures = judged_figures(_rows(bench, [key]), bench)
    assert all(math.isnan(figures[f"regret_{limit}"]) for limit in LIMITS)
    assert figures["hv_found"] > 0  # below the reference accuracy it would add nothing
    assert bench.frame.loc[key, "truth"] > REFERENCE_ACC


def test_a_perfectly_ranking_proxy_has_tau_one(bench):
    keys = list(bench.frame.sample(60, random_state=0).index)
    truth = bench.frame.loc[keys, "truth"]
    figures = judged_figures(_rows(bench, keys, own=0.5 * truth + 3), bench)
    assert figures["kendall_tau"] == pytest.approx(1.0)
    assert figures["kendall_tau_low"] == pytest.approx(1.0)
    assert figures["kendall_tau_high"] == pytest.approx(1.0)
    noisy = truth + np.random.default_rng(0).normal(0, 3, len(keys))
    shaky = judged_figures(_rows(bench, keys, own=noisy), bench)
    assert shaky["kendall_tau_low"] < shaky["kendall_tau"] < shaky["kendall_tau_high"] < 1


def test_a_zero_cost_search_is_ranked_and_picked_by_its_score(bench):
    keys = list(bench.frame[bench.frame["macs"] <= 30e6].sample(40, random_state=1).index)
    truth = bench.frame.loc[keys, "truth"]
    rows = _rows(bench, keys, val_acc=None, proxy_score=list(-truth))  # ranks upside down
    figures = judged_figures(rows, bench)
    assert figures["kendall_tau"] == pytest.approx(-1.0)
    assert figures["best_truth_30M"] == truth.min()
    assert figures["regret_30M"] == pytest.approx(89.38333333 - truth.min())


def test_only_feasible_rows_count_and_an_arch_counts_once_at_its_highest_rung(bench):
    keys = list(bench.frame[bench.frame["macs"] <= 60e6].sample(6, random_state=2).index)
    rows = _rows(bench, keys)
    best = _best_under(bench, 60e6)
    infeasible = _rows(bench, [best], status="infeasible", trial_number=10)
    rungs = _rows(bench, [keys[0], keys[0]], own=[99.0, 1.0], rung=[1, 0], trial_number=[11, 12])
    figures = judged_figures(pd.concat([rows, infeasible, rungs], ignore_index=True), bench)
    assert figures["archs"] == 6
    assert figures["best_truth_60M"] == bench.frame.loc[keys[0], "truth"]  # its rung-1 own 99
    assert figures["regret_60M"] > 0  # the infeasible best is not the search's


def test_a_missing_truth_is_looked_up_in_the_table(bench, true_front):
    figures = judged_figures(_rows(bench, true_front, truth_acc=None), bench)
    assert figures["hv_ratio"] == pytest.approx(1.0)


def test_no_evaluated_rows_judge_to_nothing_found(bench):
    figures = judged_figures(_rows(bench, [_best_under(bench, 30e6)], status="failed"), bench)
    assert figures["archs"] == figures["front_size"] == 0
    assert figures["hv_ratio"] == 0 and math.isnan(figures["regret_30M"])


# ---- nasbench judge ---------------------------------------------------------------------------


def _database(url: str, bench, studies: dict[str, dict | None], keys: list[str]) -> None:
    """Studies (name -> their `judge` attr, or None) of the same search rows, in one database."""
    store.ensure_schema(url)
    with warnings.catch_warnings():  # the heartbeat's experimental-API warnings
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        storage = make_storage(url)
    for name, judge in studies.items():
        study = optuna.create_study(
            study_name=name, storage=storage, directions=["maximize", "minimize"]
        )
        if judge is not None:
            study.set_user_attr("judge", judge)
        for row in _rows(bench, keys, study_name=name, space=SPACE).to_dict(orient="records"):
            store.write_result(url, {k: v for k, v in row.items() if not _missing(v)})
    storage.engine.dispose()


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _judge(bench, fingerprint: str | None = None) -> dict:
    return {"benchmark": "nas-bench-macro", "fingerprint": fingerprint or bench.fingerprint,
            "space": SPACE}  # fmt: skip


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()  # what the set-up printed
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def judged_db(tmp_path_factory, bench, true_front) -> tuple[str, list[str]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('judge') / 'nasbench.db'}"
    keys = [k for k in true_front if bench.frame.loc[k, "macs"] <= 60e6]
    _database(url, bench, {"judged": _judge(bench), "plain": None}, keys)
    return url, keys


def test_judge_prints_one_row_per_judged_study_with_the_figures(capsys, bench, judged_db):
    url, keys = judged_db
    code, out, err = _cli(capsys, "judge", "--storage", url, "--format", "json")
    assert code == 0 and err == ""
    [record] = json.loads(out)  # the study without a judge is left out
    assert record["study_name"] == "judged" and record["benchmark"] == "nas-bench-macro"
    expected = judged_figures(_rows(bench, keys), bench)
    assert record["hv_ratio"] == pytest.approx(expected["hv_ratio"]) and record["hv_ratio"] < 1
    assert [record[f"regret_{limit}"] for limit in LIMITS] == pytest.approx([0, 0, 0])
    assert record["archs"] == record["front_size"] == len(keys)
    assert record["kendall_tau"] == pytest.approx(1.0)


def test_judge_for_people_labels_and_rounds_the_figures(capsys, judged_db):
    url, _ = judged_db
    code, out, _ = _cli(capsys, "judge", "--storage", url, "--study-name", "judged")
    header, row = out.splitlines()
    assert code == 0
    for label in ("study", "HV ratio", "regret 30M (pp)", "regret 60M (pp)", "kendall_tau_low"):
        assert label in header
    assert "judged" in row and "0.00" in row


def test_the_study_table_shows_the_truth_beside_the_accuracy(capsys, judged_db):
    url, keys = judged_db
    code, out, _ = _cli(capsys, "table", "--storage", url, "--study-name", "judged", "--format",
                        "json")  # fmt: skip
    records = json.loads(out)
    assert code == 0 and isinstance(records, list) and len(records) == len(keys)
    assert all(r["truth_acc"] == pytest.approx(r["val_acc"]) for r in records)
    _, out, _ = _cli(capsys, "table", "--storage", url, "--study-name", "judged")
    assert out.splitlines()[0].endswith("val acc (%) truth acc (%)")


@pytest.mark.parametrize(
    ("study", "complaint"),
    [
        ("plain", "study 'plain' was not run with --judge; "),
        ("stale", "but study 'stale' was judged by 0000000000000000: the table changed"),
        ("nosuch", "no study 'nosuch' in this database; studies: "),
    ],
)
def test_judge_refuses_in_one_line_with_exit_2(capsys, tmp_path, bench, study, complaint):
    path = tmp_path / "nasbench.db"
    _database(f"sqlite:///{path}", bench, {"plain": None, "stale": _judge(bench, "0" * 16)},
              [bench.frame.index[0]])  # fmt: skip
    before = path.read_bytes()
    code, out, err = _cli(capsys, "judge", "--storage", f"sqlite:///{path}", "--study-name", study)
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and complaint in err, err
    assert path.read_bytes() == before
