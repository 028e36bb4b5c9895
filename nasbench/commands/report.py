"""`nasbench report`: write the HTML dashboard of the named studies and say where it is."""

from __future__ import annotations

import argparse

from nasbench import arguments


def add_arguments(p: argparse.ArgumentParser) -> None:
    arguments.add_storage(p)
    arguments.add_study_name(p, many=True)
    p.add_argument(
        "--output", default=None, metavar="FILE.html", help="the file, or a folder to write it in"
    )
    p.add_argument(
        "--latency-device",
        default=None,
        metavar="LABEL",
        help="show the latency measured on this device (nasbench measure --label)",
    )


def run(args: argparse.Namespace) -> int:
    from nasbench.report.page import write_report  # plotly: only when a report is written

    path = write_report(args.storage, args.study_name, args.output, args.latency_device)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0
