"""Do separate `nasbench profile` runs agree on latency? Runs it N times, each a fresh process.

Prints, per model, each run's median latency and interquartile range, then the spread between the
runs: (max - min) / median of the runs' medians, and their coefficient of variation. The target of
issue 16 is a spread within 5 % (aim 3 %) for resnet18 and mobilenet_v2 at 96 px on one thread.

With --windows K it first measures the first model K times in a row in this one process, each
with the same budget: where those windows disagree as much as separate runs do, the machine's own
speed drifts, and no budget or warm-up makes separate runs agree.

    python experiments/latency_agreement.py                        # 5 runs, the default budget
    python experiments/latency_agreement.py --runs 5 --budget 4
    python experiments/latency_agreement.py --models resnet18 --input-size 224
    python experiments/latency_agreement.py --windows 5    # and the drift within one process
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

from nasbench.config import LATENCY_BUDGET_S


def profile_once(models: list[str], input_size: int, threads: int, budget: float | None) -> dict:
    command = [sys.executable, "-m", "nasbench.cli", "profile", *models,
               "--input-size", str(input_size), "--threads", str(threads), "--format", "json"]  # fmt: skip
    if budget is not None:
        command += ["--latency-budget", str(budget)]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return {row["name"]: row for row in json.loads(out)}


def drift_in_one_process(model: str, input_size: int, threads: int, budget: float, k: int) -> None:
    """The same model measured k times in a row in this process: the machine's own drift."""
    import torch  # here only: the separate runs above need no torch in this process

    from nasbench import measure
    from nasbench.models import published_model

    build, _size, _published = published_model(model, input_size, None)
    net = build()
    shape = (1, 3, input_size, input_size)
    with torch.inference_mode():
        medians = [
            measure.measure_latency(net, shape, threads=threads, budget_s=budget)["latency_ms"]
            for _ in range(k)
        ]
    spread = (max(medians) - min(medians)) / statistics.median(medians)
    print(f"{model}, {k} windows of {budget:g} s in one process: "
          f"{', '.join(f'{m:.2f}' for m in medians)} ms; spread {spread * 100:.1f}%")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["resnet18", "mobilenet_v2"])
    parser.add_argument("--input-size", type=int, default=96)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--budget", type=float, default=None, help="--latency-budget (s)")
    parser.add_argument("--pause", type=float, default=2.0, help="seconds between runs")
    parser.add_argument("--windows", type=int, default=0, help="first: K windows in one process")
    args = parser.parse_args()

    if args.windows:
        budget = args.budget if args.budget is not None else LATENCY_BUDGET_S
        drift_in_one_process(args.models[0], args.input_size, args.threads, budget, args.windows)

    runs = []
    for run in range(args.runs):
        if run:
            time.sleep(args.pause)  # separate runs, as a user would make them
        started = time.perf_counter()
        runs.append(profile_once(args.models, args.input_size, args.threads, args.budget))
        print(f"run {run + 1}: {time.perf_counter() - started:.1f} s", file=sys.stderr)

    budget = "the default" if args.budget is None else f"{args.budget} s"
    print(f"{args.runs} separate runs of nasbench profile, {args.input_size} px, "
          f"{args.threads} thread(s), latency budget {budget}")  # fmt: skip
    for model in args.models:
        medians = [r[model]["latency_ms"] for r in runs]
        cells = ", ".join(
            f"{r[model]['latency_ms']:.2f} (IQR {r[model]['latency_iqr_ms']:.2f}, "
            f"{r[model]['latency_repeats']} blocks)"
            for r in runs
        )
        centre = statistics.median(medians)
        spread = (max(medians) - min(medians)) / centre
        cv = statistics.stdev(medians) / statistics.fmean(medians) if len(medians) > 1 else 0.0
        print(f"{model}: medians {min(medians):.2f}-{max(medians):.2f} ms, spread "
              f"{spread * 100:.1f}% of the median, CV {cv * 100:.1f}%")  # fmt: skip
        print(f"  runs (ms): {cells}")


if __name__ == "__main__":
    main()
