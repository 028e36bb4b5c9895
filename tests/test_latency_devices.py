"""`nasbench measure`: latency re-measured on another machine as labelled rows; `table` and `report`
show a chosen device's latency (--latency-device LABEL) and nothing else changes."""

from __future__ import annotations

import contextlib
import io
import json

import pytest

from nasbench.cli import main
from nasbench.results import store


def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


@pytest.mark.slow
def test_measure_adds_labelled_latency_rows_that_table_and_report_show(tmp_path):
    url = f"sqlite:///{tmp_path / 'n.db'}"
    code, _, err = cli("search", "--space", "mobilenet", "--trials", "3", "--epochs", "1",
                       "--train-fraction", "0.2", "--objectives", "acc,latency",
                       "--storage", url, "--study-name", "s")  # fmt: skip
    assert code == 0, err
    code, before, _ = cli("table", "--storage", url, "--format", "json")
    before = json.loads(before)
    args = ["measure", "--storage", url, "--study-name", "s", "--label", "pi4",
            "--latency-budget", "0.05", "--format", "json"]  # fmt: skip
    code, out, err = cli(*args)
    assert code == 0, err
    measured = json.loads(out)
    rows = store.load_results(url, ["s"])
    runs = rows[rows["source"] == "measure"]
    distinct = rows[rows["source"] == "search"]["arch_hash"].nunique()
    assert len(measured) == len(runs) == distinct and set(runs["latency_label"]) == {"pi4"}
    assert (runs["latency_ms"] > 0).all() and runs["val_acc"].isna().all()
    code, out, err = cli(*args)  # measured already: nothing new
    assert code == 0 and json.loads(out) == [] and "0 archs measured" in err
    assert (store.load_results(url, ["s"])["source"] == "measure").sum() == distinct

    code, same, _ = cli("table", "--storage", url, "--format", "json")
    assert json.loads(same) == before  # measure rows are not evaluations
    code, out, err = cli("table", "--storage", url, "--format", "json", "--latency-device", "pi4")
    assert code == 0, err
    on_pi4 = {r["name"]: r["latency_ms"] for r in json.loads(out)}
    expected = {f"trial {int(r.trial_number)}": r.latency_ms for r in runs.itertuples()}
    assert on_pi4 == {name: expected[name] for name in on_pi4}
    code, _, err = cli("table", "--storage", url, "--latency-device", "nope")
    assert code == 2 and "no latency measured on 'nope'; devices: pi4" in err
    page = tmp_path / "r.html"
    code, _, err = cli("report", "--storage", url, "--output", str(page), "--latency-device", "pi4")
    assert code == 0, err and page.stat().st_size > 0


def test_measure_of_a_missing_study_is_one_line(tmp_path):
    url = f"sqlite:///{tmp_path / 'n.db'}"
    code, _, err = cli("search", "--space", "nas_bench_macro", "--benchmark", "nas-bench-macro",
                       "--trials", "2", "--storage", url, "--study-name", "m")  # fmt: skip
    assert code == 0, err
    for study, complaint in [("nosuch", "no study 'nosuch'"), ("m", "no trained proxy to measure")]:
        code, _, err = cli("measure", "--storage", url, "--study-name", study)
        assert code == 2 and complaint in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.slow
def test_a_search_with_latency_device_looks_latency_up_and_fails_archs_never_measured(tmp_path):
    url = f"sqlite:///{tmp_path / 'n.db'}"
    common = ["--space", "fixture_spaces.toy", "--epochs", "1", "--objectives", "acc,latency",
              "--storage", url, "--seed", "1"]  # fmt: skip
    code, _, err = cli("search", *common, "--trials", "2", "--study-name", "here")
    assert code == 0, err
    code, _, err = cli("search", *common, "--trials", "2", "--study-name", "there",
                       "--latency-device", "pi4")  # fmt: skip
    assert code == 2 and "no latency measured on 'pi4'" in err, err
    code, _, err = cli("measure", "--storage", url, "--study-name", "here", "--label", "pi4",
                       "--latency-budget", "0.05")  # fmt: skip
    assert code == 0, err
    code, _, err = cli("search", *common, "--trials", "4", "--study-name", "there",
                       "--latency-device", "pi4")  # fmt: skip
    assert code == 0, err
    rows = store.load_results(url)
    measured = rows[rows["source"] == "measure"].set_index("arch_hash")["latency_ms"]
    there = rows[(rows["study_name"] == "there") & (rows["source"] == "search")]
    for _, row in there.iterrows():
        if row["arch_hash"] in measured.index:
            assert row["status"] in ("complete", "reused", "pruned")
            assert row["latency_ms"] == measured[row["arch_hash"]]
            assert row["device_name"] == "pi4"
        else:
            assert row["status"] == "failed" and "no latency measured on 'pi4'" in row["error"]
