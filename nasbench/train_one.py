"""`nasbench train`: train one architecture with the proxy recipe and print its metrics."""

from __future__ import annotations

from typing import Any

from nasbench.data import load_dataset
from nasbench.evaluate import build_for, make_recipe, measure_cost, resolve_device, train_proxy
from nasbench.output import print_records
from nasbench.spaces import arch_hash, resolve_arch


def run_train(
    space_name: str,
    arch_spec: str,
    *,
    dataset: str = "digits",
    data_dir: str | None = None,
    epochs: int | None = None,
    image_size: int | None = None,
    batch_size: int | None = None,
    train_fraction: float = 1.0,
    device: str = "auto",
    seed: int = 0,
    output_format: str = "table",
) -> int:
    """Train `arch_spec` (a JSON file or a reference name of the space) and print its metrics."""
    space, arch, label = resolve_arch(f"{space_name}:{arch_spec}")
    device = resolve_device(device)
    data = load_dataset(
        dataset,
        data_dir=data_dir or "data",
        image_size=image_size,
        train_fraction=train_fraction,
        seed=0,
    )
    recipe = make_recipe(data.name, getattr(space, "TRAIN_DEFAULTS", {}), epochs, batch_size)
    model = build_for(space, arch, data, seed=seed)
    record: dict[str, Any] = {"name": label, "arch_hash": arch_hash(arch), "dataset": data.name}
    record.update(measure_cost(model, data, device=device, latency=True))
    has_test = data.test_x is not None
    metrics = train_proxy(model, data, recipe, device=device, seed=seed, test=has_test)
    metrics.pop("stopped_early")
    record.update(metrics)
    record.pop("uncounted_ops", None)
    print_records([record], output_format)
    return 0
