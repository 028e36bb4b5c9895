"""Print a list of flat records as an aligned table, JSON, CSV, Markdown or LaTeX (through pandas)."""

from __future__ import annotations

import json
import sys
from typing import Any

import pandas as pd


def print_records(records: list[dict[str, Any]], output_format: str) -> None:
    """Write records to stdout in the chosen format; JSON keeps every field, others are tables."""
    if output_format == "json":
        json.dump(records, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
        return
    print_frame(pd.DataFrame.from_records(records), output_format)


def print_frame(frame: pd.DataFrame, output_format: str) -> None:
    if output_format == "json":
        sys.stdout.write(frame.to_json(orient="records", indent=2, default_handler=str) + "\n")
    elif output_format == "csv":
        frame.to_csv(sys.stdout, index=False)
    elif output_format == "md":
        sys.stdout.write(frame.to_markdown(index=False) + "\n")
    elif output_format == "latex":
        sys.stdout.write(frame.to_latex(index=False) + "\n")
    else:
        sys.stdout.write((frame.to_string(index=False) if len(frame) else "(no rows)") + "\n")
