#!/usr/bin/env bash
# Single-rank training throughput: salient vs PyTorch 1.13 (CPU, 1 thread), same models, data
# (Fashion-MNIST), batch and optimizer, measured in the same run; prints the ratio.
# usage: benchmarks/train_vs_torch.sh [build_dir=build] [steps=300] [reps=5]
# needs: scripts/install-deps --bench (python3-torch) and a Release build.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build} steps=${2:-300} reps=${3:-5}
export OPENBLAS_NUM_THREADS=1
[[ -x $build/bin/bench_train ]] || { echo "build first: cmake --build $build" >&2; exit 2; }
/usr/bin/python3 -c 'import torch' 2>/dev/null || { echo "needs python3-torch: scripts/install-deps --bench" >&2; exit 2; }
echo "# single-rank training throughput, Fashion-MNIST, batch 64, 1 thread, median of $reps x $steps steps"
echo "# machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; torch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)')"
printf "%-8s %14s %14s %8s %10s %12s %10s\n" model salient_samp/s torch_samp/s ratio GFLOP/s sgemm_GFLOP/s %sgemm
for arch in mlp lenet5; do
  IFS=, read -r _ _ _ s_med _ _ s_gf s_peak s_pct < <("$build/bin/bench_train" "$arch" 64 "$steps" "$reps")
  IFS=, read -r _ _ _ t_med _ _ < <(/usr/bin/python3 benchmarks/torch_train.py "$arch" 64 "$steps" "$reps")
  printf "%-8s %14s %14s %8.2f %10s %12s %10s\n" "$arch" "$s_med" "$t_med" \
    "$(awk -v a="$s_med" -v b="$t_med" 'BEGIN{print a/b}')" "$s_gf" "$s_peak" "$s_pct"
done
