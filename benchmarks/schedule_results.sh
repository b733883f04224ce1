#!/usr/bin/env bash
# schedule_results.sh - [sparsity] schedule on Fashion-MNIST LeNet-5 in fedavg: IMP (from dense,
# rewind to round 1), LRR (from dense) and SCULPT (of SSFL's mask at twice the density) against
# SSFL's fixed mask, all ending at density 0.1: rounds, final density, accuracy and bytes, as
# docs/results.md's table ("Iterative pruning and cyclic training").
# Usage: benchmarks/schedule_results.sh BUILD OUT [FINAL] [R] [C] [RANKS]
#   FINAL rounds after the last prune (default 20), C cycles of R rounds (5, 2), 3 ranks.
set -eu
build=$1 out=$2 final=${3:-20} R=${4:-5} C=${5:-2} np=${6:-3}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_mpi_yield_when_idle=1
src=$(cd "$(dirname "$0")/.." && pwd)
# ssfl-fmnist.ini: LeNet-5, 100 clients, balanced Dirichlet(0.3), 10 per round, SSFL at 0.1
cyc=(--set sparsity.cycles="$C" --set sparsity.cycle_rounds="$R")
imp_rounds=$((R + (C - 1) * (R - 1) + final)) cyc_rounds=$((C * R + final))
runs=(
  "fixed|SSFL 0.1|--set run.rounds=$final"
  "fixed|SSFL 0.1|--set run.rounds=$cyc_rounds"
  "imp|dense|--set sparsity.method=none --set sparsity.schedule=imp --set sparsity.rewind_round=1 --set run.rounds=$imp_rounds"
  "lrr|dense|--set sparsity.method=none --set sparsity.schedule=lrr --set run.rounds=$cyc_rounds"
  "sculpt|SSFL 0.2|--set sparsity.schedule=sculpt --set sparsity.start_density=0.2 --set run.rounds=$cyc_rounds"
)
mkdir -p "$out"
echo "| schedule | first mask | rounds (beyond the final phase's) | final density | final acc % | mean acc, last 3 evals % | MB up + down |"
echo "|---|---|---|---|---|---|---|"
i=0
for r in "${runs[@]}"; do
  IFS='|' read -r sched first args <<<"$r"
  extra=()
  [[ $sched != fixed ]] && extra=("${cyc[@]}")
  i=$((i + 1))
  # shellcheck disable=SC2086 # args is a list of --set words
  mpirun -np "$np" "$build/bin/salient" train "$src/jobs/configs/ssfl-fmnist.ini" $args \
    "${extra[@]}" --out "$out/$i-$sched" 2>"$out/$i-$sched.err"
  awk -F, -v s="$sched" -v f="$first" -v fin="$final" '
    NR > 1 { n = $1; d = $5; b += $6 + $7; if ($2 != "") acc[++k] = $2 }
    END { m = (acc[k] + acc[k - 1] + acc[k - 2]) / 3
          printf "| %s | %s | %d (%d) | %.4f | %.2f | %.2f | %.1f |\n", s, f, n, n - fin, d,
                 100 * acc[k], 100 * m, b / 1e6 }' "$out/$i-$sched/metrics.csv"
done
