#!/usr/bin/env bash
# Proxy fidelity on a two-core CPU: 50 NAS-Bench-Macro archs (one from each fiftieth of the truth's
# range) trained on the JPEG CIFAR-10 under three budgets, beside the zero-cost proxies and the
# free params / MACs rankings. Meant to take about an hour on two cores with nothing else running
# (not yet timed so); rerun the same command to continue where it stopped.
#
#   bash experiments/fidelity_nas_bench_macro_cpu.sh [STORAGE_URL]
set -euo pipefail
data="${NASBENCH_DATA:-$HOME/.cache/nasbench-data}"
shared="$(cd "$(dirname "$0")/../.." && pwd)/shared/data"
if [ ! -d "$data/cifar10-jpeg" ]; then
    mkdir -p "$data"
    python -m zipfile -e "$shared/cifar10_jpeg.zip" "$data"
fi
OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" nasbench fidelity \
    --benchmark nas-bench-macro --dataset "imagefolder:$data/cifar10-jpeg" --archs 50 --seed 0 \
    --budget "epochs=1,image_size=16,train_fraction=0.09" \
    --budget "epochs=3,image_size=16,train_fraction=0.045" \
    --budget "epochs=2,image_size=8,train_fraction=0.09" \
    --zero-cost synflow,nwot,snip,grad_norm \
    --storage "${1:-sqlite:///fidelity_cpu.db}" --study-name fidelity_nas-bench-macro_cifar10 \
    --format md
