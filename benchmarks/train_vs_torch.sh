#!/usr/bin/env bash
# Single-rank training throughput and peak memory: salient vs PyTorch 1.13 (CPU; oneDNN for its
# convolutions), same models, batch and optimizer, measured in the same run; prints ratios.
# mlp and lenet5 train on Fashion-MNIST at batch 64; the ResNets on synthetic 3x32x32 batches
# (resnet20 with BatchNorm at batch 32, resnet18 with GroupNorm at batch 16, as issue 19 asks).
# usage: benchmarks/train_vs_torch.sh [build_dir=build] [reps=5] [threads=1]
#   env MODELS="mlp lenet5 resnet20-bn resnet18-gn" picks rows (ARCH:BATCH:STEPS each, or a
#   known ARCH alone).
# needs: scripts/install-deps --bench (python3-torch) and a Release build. OpenBLAS reads
# OPENBLAS_CORETYPE from the environment; the header line prints it, since a pinned core type
# (e.g. Haswell's AVX2 kernels on an AVX-512 machine) sets the speed of salient's GEMMs.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build} reps=${2:-5} threads=${3:-1}
export OPENBLAS_NUM_THREADS=1
[[ -x $build/bin/bench_train ]] || { echo "build first: cmake --build $build" >&2; exit 2; }
/usr/bin/python3 -c 'import torch' 2>/dev/null || { echo "needs python3-torch: scripts/install-deps --bench" >&2; exit 2; }
models=${MODELS:-"mlp lenet5 resnet20-bn resnet18-gn"}
echo "# single-rank training throughput, $threads thread(s), median of $reps repetitions"
echo "# machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; torch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)'); OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(unset: OpenBLAS detects the CPU)}"
printf "%-12s %5s %12s %12s %6s %8s %8s %6s %9s %9s %6s\n" model batch salient_s/s torch_s/s ratio GFLOP/s sgemm_GF %sgemm rss_MiB torch_MiB rss_x
for spec in $models; do
  IFS=: read -r arch batch steps <<<"$spec"
  case $arch in
    mlp | lenet5) batch=${batch:-64} steps=${steps:-300} ;;
    resnet20-*) batch=${batch:-32} steps=${steps:-20} ;;
    resnet18-*) batch=${batch:-16} steps=${steps:-3} ;;
    resnet50-*) batch=${batch:-8} steps=${steps:-2} ;;
    *) batch=${batch:-64} steps=${steps:-50} ;;
  esac
  IFS=, read -r _ _ _ s_med _ _ s_gf s_peak s_pct s_rss < <("$build/bin/bench_train" "$arch" "$batch" "$steps" "$reps" "$threads")
  IFS=, read -r _ _ _ t_med _ _ t_rss < <(/usr/bin/python3 benchmarks/torch_train.py "$arch" "$batch" "$steps" "$reps" "$threads")
  printf "%-12s %5s %12s %12s %6.2f %8s %8s %6s %9s %9s %6.2f\n" "$arch" "$batch" "$s_med" "$t_med" \
    "$(awk -v a="$s_med" -v b="$t_med" 'BEGIN{print a/b}')" "$s_gf" "$s_peak" "$s_pct" \
    "$s_rss" "$t_rss" "$(awk -v a="$s_rss" -v b="$t_rss" 'BEGIN{print a/b}')"
done
