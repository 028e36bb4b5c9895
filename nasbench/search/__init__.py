"""The search: an Optuna study whose trials ask for an arch, evaluate it and store its row."""
