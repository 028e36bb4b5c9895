"""Temporary re-export: retraining moved to nasbench.workflow.retrain."""

from nasbench.workflow.retrain import *  # noqa: F401,F403
from nasbench.workflow.retrain import RetrainSettings, run_retrain  # noqa: F401
