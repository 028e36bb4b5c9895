"""`nasbench report`: write the HTML dashboard of the named studies and say where it is."""

from __future__ import annotations

from nasbench.report.page import write_report


def run_report(
    url: str,
    study_names: list[str] | None = None,
    output: str | None = None,
    latency_device: str | None = None,
) -> int:
    path = write_report(url, study_names, output, latency_device)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0
