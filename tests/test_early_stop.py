"""The early-stopping rule of multi-objective searches: stop a trial only when a cheaper finished one leads."""

from __future__ import annotations

import pytest

from nasbench.search.early_stop import MARGIN, MIN_FRACTION, FinishedCurve, hopeless_reason

EPOCHS = 10
# a finished trial, cheaper on both costs (MACs, params), at 80 % from the first epoch on
CHEAP_AND_GOOD = FinishedCurve(val_acc=[80.0] * EPOCHS, costs=[1e6, 1e4])
COSTS = [2e6, 2e4]  # the running trial's costs: higher on both
FIRST_EPOCH = round(MIN_FRACTION * EPOCHS) - 1  # 0-based: the first epoch the rule may stop at


def reason(epoch: int = 5, val_acc: float = 50.0, costs=COSTS, finished=(CHEAP_AND_GOOD,),
           total_epochs: int = EPOCHS, **kwargs) -> str | None:  # fmt: skip
    return hopeless_reason(epoch, val_acc, costs, list(finished), total_epochs, **kwargs)


def test_a_trial_far_behind_a_cheaper_finished_one_is_stopped_with_the_numbers():
    assert reason(epoch=5, val_acc=50.0) == (
        "stopped early at epoch 6/10: val_acc 50.0% trails a finished trial that costs no more "
        "(80.0% at that epoch)"
    )


def test_nothing_is_stopped_before_min_fraction_of_the_epochs():
    assert FIRST_EPOCH == 3  # 40 % of 10 epochs: the fourth epoch
    assert reason(epoch=FIRST_EPOCH - 1) is None
    assert reason(epoch=FIRST_EPOCH) is not None


def test_min_fraction_rounds_up_to_whole_epochs():
    # 40 % of 3 epochs is 1.2 epochs: the rule waits for the second epoch
    curve = FinishedCurve(val_acc=[80.0] * 3, costs=[1e6, 1e4])
    assert reason(epoch=0, finished=[curve], total_epochs=3) is None
    assert reason(epoch=1, finished=[curve], total_epochs=3) is not None


def test_min_fraction_can_be_changed():
    assert reason(epoch=1) is None
    assert reason(epoch=1, min_fraction=0.2) is not None
    assert reason(epoch=5, min_fraction=0.8) is None


def test_the_last_epoch_is_never_stopped():
    # stopping there saves nothing, and the trial has its final accuracy
    assert reason(epoch=EPOCHS - 2) is not None
    assert reason(epoch=EPOCHS - 1) is None


def test_only_a_lead_of_more_than_margin_points_stops():
    assert MARGIN == 2.0
    assert reason(val_acc=80.0 - MARGIN) is None  # exactly the margin behind: a late bloomer
    assert reason(val_acc=80.0 - MARGIN - 0.01) is not None
    assert reason(val_acc=95.0) is None  # ahead of the finished trial
    assert reason(val_acc=70.0, margin=10.0) is None
    assert reason(val_acc=69.9, margin=10.0) is not None


def test_the_finished_accuracy_is_read_at_the_same_epoch():
    # a finished trial that started slowly: behind at epoch 4, far ahead at its end
    rising = FinishedCurve(val_acc=[10.0 * (e + 1) for e in range(EPOCHS)], costs=[1e6, 1e4])
    assert reason(epoch=3, val_acc=39.0, finished=[rising]) is None
    assert reason(epoch=3, val_acc=37.9, finished=[rising]) is not None


def test_a_finished_trial_that_costs_more_on_any_cost_does_not_stop_it():
    more_macs = FinishedCurve(val_acc=[80.0] * EPOCHS, costs=[3e6, 1e4])
    more_params = FinishedCurve(val_acc=[80.0] * EPOCHS, costs=[1e6, 3e4])
    assert reason(finished=[more_macs]) is None
    assert reason(finished=[more_params]) is None
    assert reason(finished=[more_macs, more_params]) is None
    assert reason(finished=[more_macs, more_params, CHEAP_AND_GOOD]) is not None


def test_a_finished_trial_with_equal_costs_counts_as_costing_no_more():
    same = FinishedCurve(val_acc=[80.0] * EPOCHS, costs=list(COSTS))
    assert reason(finished=[same]) is not None


def test_a_curve_too_short_for_the_epoch_is_ignored():
    # a finished trial trained for fewer epochs (another protocol) has no value at this epoch
    short = FinishedCurve(val_acc=[80.0] * 5, costs=[1e6, 1e4])
    assert reason(epoch=4, finished=[short]) is not None
    assert reason(epoch=5, finished=[short]) is None


def test_a_curve_with_another_number_of_costs_is_ignored():
    one_cost = FinishedCurve(val_acc=[80.0] * EPOCHS, costs=[1e6])
    three_costs = FinishedCurve(val_acc=[80.0] * EPOCHS, costs=[1e6, 1e4, 0.1])
    assert reason(finished=[one_cost, three_costs]) is None


def test_no_finished_trials_means_no_stop():
    assert reason(finished=[]) is None


@pytest.mark.parametrize("epoch", range(EPOCHS))
def test_a_trial_ahead_of_every_finished_one_is_never_stopped(epoch):
    assert reason(epoch=epoch, val_acc=81.0) is None
