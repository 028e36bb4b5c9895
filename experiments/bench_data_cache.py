"""Time loading an image folder without the cache, then from it (nasbench.data_cache).

    python experiments/bench_data_cache.py ~/.cache/nasbench-data/cifar10-jpeg --image-size 32

Each load runs in a fresh process (as a search or fidelity run would), into a fresh cache folder:
first the decoding (every core), then the cached load; `--repeats` cached loads give the spread.
Seconds are load_dataset's own, without the interpreter's start-up and torch's import.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

CHILD = """
import sys, time
t0 = time.perf_counter()
from nasbench.data import load_dataset
t1 = time.perf_counter()
data = load_dataset("imagefolder:" + sys.argv[1], image_size=int(sys.argv[2]))
t2 = time.perf_counter()
print(f"{t1 - t0:.3f} {t2 - t1:.3f} {len(data.train_y) + len(data.val_y)}")
"""


def timed_load(folder: str, size: int, cache: str) -> tuple[float, float, int]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, folder, str(size)],
        env={**os.environ, "NASBENCH_CACHE_DIR": cache},
        capture_output=True,
        text=True,
        check=True,
    )
    imports, load, images = done.stdout.split()
    return float(imports), float(load), int(images)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        imports, decode, images = timed_load(args.folder, args.image_size, cache)
        cached = [timed_load(args.folder, args.image_size, cache)[1] for _ in range(args.repeats)]
    median = statistics.median(cached)
    print(f"{images} training images at {args.image_size} px, {os.cpu_count()} cores")
    print(f"first load (decode, write the cache): {decode:.1f} s")
    print(f"cached load: median {median:.2f} s (min {min(cached):.2f}, max {max(cached):.2f}, "
          f"{args.repeats} runs); {decode / median:.0f}x faster")  # fmt: skip
    print(f"(importing nasbench.data and torch: {imports:.1f} s, not counted)")


if __name__ == "__main__":
    main()
