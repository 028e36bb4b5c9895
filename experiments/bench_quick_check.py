"""Benchmark: what checking a SQLite database for damage costs each command (PRAGMA quick_check in
store.check_storage), on the 10,000-trial database of bench_report.py, against the check without it.

    .venv/bin/python experiments/bench_quick_check.py [--trials 10000] [--repeats 5]

NASBENCH_QUICK_CHECK=off skips the check (for files so large that it costs too much).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_report import build_database  # noqa: E402

from nasbench.results import store  # noqa: E402


def timed_check(url: str, quick_check: bool) -> float:
    os.environ[store.QUICK_CHECK_ENV] = "on" if quick_check else "off"
    os.environ.pop("NASBENCH_QUICK_CHECKED", None)  # as a new command: nothing checked yet
    start = time.perf_counter()
    store.check_storage(url, create=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        url = f"sqlite:///{path}"
        build_database(url, args.trials)
        size_mb = path.stat().st_size / 1e6
        timings = {
            check: [timed_check(url, check) for _ in range(args.repeats)] for check in (False, True)
        }
    without, with_check = (statistics.median(timings[c]) for c in (False, True))
    print(f"{args.trials} trials, {size_mb:.1f} MB; median of {args.repeats} (file in page cache)")
    print(f"check_storage without quick_check: {without * 1000:.1f} ms")
    print(f"check_storage with quick_check:    {with_check * 1000:.1f} ms")
    print(f"quick_check adds {(with_check - without) * 1000:.1f} ms ({with_check / without:.1f}x)")


if __name__ == "__main__":
    main()
