"""Promotions that continue (--promotion continue): the warm-up-stable-decay schedule, a state
saved before the decay and continued by a longer run, and a search whose promotions continue."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from nasbench.cli import main
from nasbench.config import SearchSettings
from nasbench.data import load_dataset
from nasbench.errors import UsageError
from nasbench.results import store
from nasbench.search.study import with_study_promotion
from nasbench.train import (
    TrainConfig,
    _scheduler,
    steps_of,
    train,
    warmup_steps,
    wsd_decay_start,
)

ARGS = ["--space", "nas_bench_macro", "--dataset", "digits", "--rungs", "2", "--confirm-runs", "1",
        "--sampler", "random", "--workers", "1", "--budget", "steps=10"]  # fmt: skip


def _rates(config: TrainConfig, total: int, start: int = 0, warmup: int | None = None) -> list:
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=config.lr)
    scheduler = _scheduler(optimizer, config, 10, total, warmup=warmup, start_step=start)
    rates = []
    for _ in range(total - start):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


def test_warmup_stable_decay_holds_the_peak_then_decays_linearly_to_zero():
    config = TrainConfig(lr=0.1, warmup_epochs=0.5, decay_fraction=0.2, steps=100)
    rates = _rates(config, 100)  # warm-up 5 steps (half an epoch of 10), decay from step 80
    assert wsd_decay_start(config, 100) == 80
    assert rates[0] < rates[4] < 0.1 and rates[5:80] == [pytest.approx(0.1)] * 75
    assert rates[80] == pytest.approx(0.1) and rates[99] == pytest.approx(0.1 / 20)
    assert all(a > b for a, b in zip(rates[80:], rates[81:], strict=False))
    assert wsd_decay_start(TrainConfig(), 100) is None  # cosine, as before


def test_a_continued_schedule_is_the_longer_runs_from_the_saved_step_on():
    long = TrainConfig(lr=0.1, warmup_epochs=0.5, decay_fraction=0.2, steps=300)
    whole = _rates(long, 300, warmup=5)
    assert _rates(long, 300, start=80, warmup=5) == pytest.approx(whole[80:])
    assert whole[80:240] == [pytest.approx(0.1)] * 160  # still at the peak until 240


def test_a_state_saved_before_the_decay_is_continued_by_a_longer_run(tmp_path):
    data = load_dataset("digits")
    short = TrainConfig(steps=20, batch_size=32, warmup_epochs=0.1, decay_fraction=0.2,
                        augment="none", hflip=False)  # fmt: skip
    state = tmp_path / "a.pt"
    torch.manual_seed(0)
    first = train(nn.Sequential(nn.Flatten(), nn.Linear(64, 10)), data, short,
                  save_before_decay=state)  # fmt: skip
    assert first["steps"] == 20 and first["warm_start_steps"] == 0
    saved = torch.load(state, weights_only=True)
    steps_per_epoch = steps_of(short, len(data.train_y))[0]
    assert saved["steps"] == 16 and saved["warmup"] == warmup_steps(short, steps_per_epoch, 20)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    longer = TrainConfig(**{**short.__dict__, "steps": 60})
    second = train(model, data, longer, resume_from=state)
    assert second["steps"] == 60 and second["warm_start_steps"] == 16
    assert second["images_seen"] == 60 * 32 and second["val_acc"] > first["val_acc"] - 10
    # a state of another recipe (here the learning rate) cannot be continued
    other = TrainConfig(**{**longer.__dict__, "lr": 0.05})
    with pytest.raises(ValueError, match="another recipe"):
        train(nn.Sequential(nn.Flatten(), nn.Linear(64, 10)), data, other, resume_from=state)


def test_a_search_whose_promotions_continue_stores_their_warm_start_and_removes_the_states(
    tmp_path, capsys
):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    code = main(["search", *ARGS, "--promotion", "continue", "--trials", "6", "--storage", url])
    assert code == 0, capsys.readouterr().err
    rows = store.load_results(url)
    rung0, rung1 = rows[rows["rung"] == 0], rows[rows["rung"] == 1]
    assert len(rung0) == 6 and len(rung1) >= 2
    assert (rung0["warm_start_steps"] == 0).all() and (rung0["steps"] == 10).all()
    # each promotion took over its rung-0 state at step 8 (the decay is the last fifth)
    assert (rung1["warm_start_steps"] == 8).all() and (rung1["steps"] == 30).all()
    assert not (tmp_path / "c.db.states").exists()  # the study is done: no state is kept
    # a rerun that retrains its promotions is another protocol
    code = main(["search", *ARGS, "--promotion", "retrain", "--trials", "6", "--storage", url])
    err = capsys.readouterr().err
    assert code == 2 and "promotion='continue', not 'retrain'" in err, err


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--promotion", "continue"], "--promotion continue needs successive halving"),
        (["--promotion", "later", "--rungs", "2"], "invalid choice: 'later'"),
        (["--promotion", "continue", "--rungs", "2", "--storage", "postgresql+psycopg://u@h/db"],
         "give --weights-dir"),
    ],
)  # fmt: skip
def test_bad_promotion_input_is_one_line_and_status_2(tmp_path, capsys, args, complaint):
    storage = [] if "--storage" in args else ["--storage", f"sqlite:///{tmp_path / 'b.db'}"]
    code = main(["search", "--space", "nas_bench_macro", "--dataset", "digits", *storage, *args])
    err = capsys.readouterr().err
    assert code == 2 and complaint in err and len(err.strip().splitlines()) == 1, err


def _resolved(attrs: dict | None = None, **settings) -> str:
    settings = {"study_name": "s", "space": "nas_bench_macro", "rungs": 2, **settings}
    return with_study_promotion(SearchSettings(**settings), attrs).promotion


def test_a_new_study_continues_where_its_states_have_a_home_and_retrains_elsewhere():
    assert _resolved(storage="sqlite:///x.db") == "continue"
    assert _resolved(storage="postgresql+psycopg://u@h/db", weights_dir="/shared") == "continue"
    assert _resolved(storage="postgresql+psycopg://u@h/db") == "retrain"
    assert _resolved(storage="sqlite:///x.db", rungs=1) == "retrain"
    assert _resolved(storage="sqlite:///x.db", promotion="retrain") == "retrain"


def test_a_study_resumes_with_the_promotion_it_recorded_or_retrains_if_older_than_it():
    assert _resolved({"settings": {"promotion": "retrain"}}, storage="sqlite:///x.db") == "retrain"
    assert _resolved({"settings": {"rungs": 2}}, storage="sqlite:///x.db") == "retrain"
    recorded = {"settings": {"promotion": "continue"}}
    assert (
        _resolved(recorded, storage="postgresql+psycopg://u@h/db", weights_dir="/s") == "continue"
    )
    with pytest.raises(UsageError, match="continues promotions from saved states: give --weights"):
        _resolved(recorded, storage="postgresql+psycopg://u@h/db")  # a worker without the folder


def test_a_search_with_rungs_continues_by_default_and_a_retraining_study_resumes_unchanged(
    tmp_path, capsys
):
    url = f"sqlite:///{tmp_path / 'd.db'}"
    assert main(["search", *ARGS, "--trials", "3", "--storage", url]) == 0
    rung1 = store.load_results(url).query("rung == 1")
    assert len(rung1) and (rung1["warm_start_steps"] == 8).all()  # took over rung 0's state
    old = f"sqlite:///{tmp_path / 'r.db'}"  # a study made while retraining was the default
    assert main(["search", *ARGS, "--promotion", "retrain", "--trials", "3", "--storage", old]) == 0
    capsys.readouterr()
    assert main(["search", *ARGS, "--trials", "6", "--storage", old]) == 0, capsys.readouterr().err
    rung1 = store.load_results(old).query("rung == 1")
    assert len(rung1) and (rung1["warm_start_steps"] == 0).all()  # retrained, as it began
