"""Where a budget's width makes distinct archs train as one network: for each space, sample archs
as its suggest() does, build each at widths 1, 0.5 and 0.25, and count the distinct networks
(two networks are the same when their module trees print alike, layer types, channels, kernels
and strides, and their archs agree on every field that sets no width: heads, pooling, rates...).

    python experiments/width_collapse.py [--archs 300] [--image-size 32]
"""

from __future__ import annotations

import argparse
import hashlib

import optuna

from nasbench.spaces import load_space, space_names

WIDTHS = (1.0, 0.5, 0.25)
# the arch fields that set channel counts (or embedding widths), across the shipped spaces
WIDTH_FIELDS = {
    "width_mult",
    "last_channels",
    "base_width",
    "width_per_group",
    "embed_dim",
    "widths",
}


def fingerprint(model, arch: dict) -> str:
    others = {k: v for k, v in arch.items() if k not in WIDTH_FIELDS}
    return hashlib.sha256((str(model) + repr(sorted(others.items()))).encode()).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", type=int, default=300)
    parser.add_argument("--image-size", type=int, default=32)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    print(f"{args.archs} sampled archs a space, built at {args.image_size} px")
    print(f"{'space':26} {'distinct archs':>14} " + " ".join(f"{'w=' + str(w):>8}" for w in WIDTHS))
    for name in space_names():
        space = load_space(name)
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        archs = {}
        for _ in range(args.archs):
            arch = space.suggest(study.ask())
            archs[repr(sorted(arch.items()))] = arch
        counts = []
        for width in WIDTHS:
            counts.append(
                len({fingerprint(space.build(a, 10, 3, args.image_size, width=width), a)
                     for a in archs.values()})
            )  # fmt: skip
        print(f"{name:26} {len(archs):>14} " + " ".join(f"{c:>8}" for c in counts))


if __name__ == "__main__":
    main()
