"""Temporary re-export: proxy fidelity moved to nasbench.workflow.fidelity."""

from nasbench.workflow.fidelity import *  # noqa: F401,F403
from nasbench.workflow.fidelity import FidelitySettings, run_fidelity  # noqa: F401
