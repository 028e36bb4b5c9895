#!/usr/bin/env bash
# Proxy fidelity on a two-core CPU: 50 NAS-Bench-Macro archs (one from each fiftieth of the truth's
# range) trained on the JPEG CIFAR-10 under three budgets, beside the zero-cost proxies and the
# free params / MACs rankings. Sized for about an hour on two cores; measured at about 2 hours on
# this CPU while it was shared with other jobs (145 s an arch over the three budgets, 4.5 min of
# data loading; README "Proxy fidelity"). Rerun the same command to continue where it stopped.
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
