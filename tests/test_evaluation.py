"""The evaluator on its own, without Optuna: an arch and a context in, one results row out."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fixture_spaces import toy  # noqa: E402

from nasbench.benchmarks import load_benchmark  # noqa: E402
from nasbench.data import load_dataset  # noqa: E402
from nasbench.evaluation.context import Context, Request, make_recipe  # noqa: E402
from nasbench.evaluation.limits import constraint_values  # noqa: E402
from nasbench.evaluation.model import (  # noqa: E402
    RANKING_LATENCY,
    RECORDED_LATENCY,
)
from nasbench.evaluation.tabular import evaluate_tabular, macs_of_cell  # noqa: E402
from nasbench.evaluation.trained import evaluate_trained, latency_timing  # noqa: E402
from nasbench.spaces import load_space  # noqa: E402
from search_spaces.nb201 import EDGES, to_nb201_string  # noqa: E402

SMALL = {"width": 4, "poison": "none"}


@pytest.fixture(scope="module")
def ctx() -> Context:
    data = load_dataset("digits", train_fraction=0.2, seed=0)
    recipe = make_recipe(data.name, {}, 2, None)
    return Context(space=toy, protocol="p", objectives=("acc", "macs"), data=data, recipe=recipe)


def test_a_trained_arch_gives_a_complete_row_with_costs_and_accuracy(ctx):
    evaluation = evaluate_trained(SMALL, ctx, Request(seeds=(3,)))
    row = evaluation.row
    assert row["status"] == "complete" and row.get("error") is None
    assert row["macs"] > 0 and row["params"] > 0 and row["latency_ms"] > 0
    assert 0 <= row["val_acc"] <= 100 and row["train_runs"] == 1 and row["train_s"] > 0
    assert row["dataset"] == "digits" and row["batch_size"] == ctx.recipe.batch_size
    assert len(evaluation.curve) == 2 and evaluation.curve[-1] == pytest.approx(row["val_acc"])
    again = evaluate_trained(SMALL, ctx, Request(seeds=(3,))).row
    assert again["val_acc"] == row["val_acc"]  # the seed decides weights and batches


def test_latency_is_timed_to_rank_only_where_it_is_an_objective_or_a_limit(ctx):
    assert latency_timing(ctx) == RECORDED_LATENCY  # acc and MACs: latency decides nothing
    ranked = Context(**{**ctx.__dict__, "objectives": ("acc", "latency")})
    limited = Context(**{**ctx.__dict__, "limits": {"latency_ms": 5.0}})
    assert latency_timing(ranked) == latency_timing(limited) == RANKING_LATENCY
    recorded = evaluate_trained(SMALL, ctx, Request(seeds=(3,))).row
    assert recorded["latency_ms"] > 0 and recorded["latency_repeats"] == 3  # one call each
    ranking = evaluate_trained(SMALL, ranked, Request(seeds=(3,))).row
    assert ranking["latency_ms"] > 0 and ranking["latency_repeats"] >= 5


def test_an_arch_over_a_hard_limit_is_infeasible_and_not_trained(ctx):
    limited = Context(**{**ctx.__dict__, "limits": {"macs": 10.0}})
    row = evaluate_trained(SMALL, limited, Request()).row
    assert row["status"] == "infeasible" and row["val_acc"] == 0.0
    assert row["error"].startswith("macs ") and "> limit 10" in row["error"]
    assert "train_s" not in row
    assert constraint_values(row, limited.limits) == [row["macs"] - 10.0, 0.0]


def test_an_invalid_arch_and_a_nan_loss_are_failed_rows_with_their_reason(ctx):
    invalid = evaluate_trained({"width": 5, "poison": "none"}, ctx, Request()).row
    assert invalid["status"] == "failed" and "width=5 is not allowed" in invalid["error"]
    nan = evaluate_trained({"width": 4, "poison": "nan"}, ctx, Request()).row
    assert nan["status"] == "failed" and "loss" in nan["error"].lower()


def test_running_out_of_memory_is_infeasible_and_sets_the_memory_constraint(ctx):
    row = evaluate_trained({"width": 4, "poison": "oom"}, ctx, Request()).row
    assert row["status"] == "infeasible" and row["error"].startswith("out of memory: CUDA out")
    assert constraint_values(row, {}) == [1.0]


def test_a_stopping_rule_prunes_the_training_with_its_reason(ctx):
    seen = []

    def stop_after_first_epoch(epoch, val_acc, costs):
        seen.append((epoch, costs))
        return "hopeless" if epoch == 0 else None

    evaluation = evaluate_trained(SMALL, ctx, Request(should_stop=stop_after_first_epoch))
    assert evaluation.row["status"] == "pruned" and evaluation.row["error"] == "hopeless"
    assert seen == [(0, (float(evaluation.row["macs"]),))]  # cost objectives, not accuracy


def test_a_front_entrant_is_confirmed_with_each_seed_and_a_dominated_one_is_not(ctx):
    confirmed = evaluate_trained(SMALL, ctx, Request(seeds=(1, 2, 3)))
    row = confirmed.row
    assert row["train_runs"] == 3 and len(confirmed.run_accuracies) == 3
    assert row["val_acc"] == pytest.approx(sum(confirmed.run_accuracies) / 3)
    single = [evaluate_trained(SMALL, ctx, Request(seeds=(s,))).row["val_acc"] for s in (1, 2, 3)]
    assert confirmed.run_accuracies == pytest.approx(single)
    beaten = Request(seeds=(1, 2, 3), front=((100.0, 1.0),))  # perfect accuracy for 1 MAC
    assert evaluate_trained(SMALL, ctx, beaten).row["train_runs"] == 1


def test_a_stored_result_is_reused_and_names_its_row(ctx):
    previous = {"id": 41, "study_name": "a", "trial_number": 7, "val_acc": 88.0, "macs": 1000,
                "params": 50, "train_runs": 1, "status": "complete"}  # fmt: skip
    row = evaluate_trained(SMALL, ctx, Request(previous=previous)).row
    assert row["status"] == "reused" and row["reused_from"] == 41
    assert row["val_acc"] == 88.0 and row["train_s"] == 0.0
    assert row["error"] == "reused result row 41 (a trial 7)"


def test_the_tabular_evaluator_looks_the_cell_up_with_the_same_signature(tmp_path):
    space = load_space("nb201")
    cells = [dict.fromkeys(EDGES, op) for op in ("nor_conv_3x3", "skip_connect")]
    table = pd.DataFrame(
        {"arch": [to_nb201_string(c) for c in cells], "params": [1000, 10],
         "valid_acc": [90.5, 50.0], "test_acc": [91.0, 51.0]}
    )  # fmt: skip
    table.to_csv(tmp_path / "t.csv", index=False)
    ctx = Context(space=space, protocol="t", objectives=("acc", "macs"),
                  benchmark=load_benchmark(tmp_path / "t.csv", space="nb201"))  # fmt: skip
    row = evaluate_tabular(cells[0], ctx, Request()).row
    assert row["status"] == "complete" and row["val_acc"] == 90.5 and row["test_acc"] == 91.0
    assert row["params"] == 1000 and row["macs"] == macs_of_cell(space, cells[0])
    missing = evaluate_tabular(dict.fromkeys(EDGES, "none"), ctx, Request()).row
    assert missing["status"] == "failed" and "has no row for" in missing["error"]
