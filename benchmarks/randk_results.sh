#!/usr/bin/env bash
# randk_results.sh - fedavg's uploads dense vs Rand-k at density 0.1 with each decoder (plain,
# spatial, temporal) on Fashion-MNIST: final accuracy and total bytes, as docs/results.md's table
# ("Rand-k fedavg uploads"). Usage: benchmarks/randk_results.sh BUILD OUT [ROUNDS] [RANKS] [DENSITY]
# [SEED]   (defaults 50, 3, 0.1, 1)
set -eu
build=$1 out=$2 rounds=${3:-50} np=${4:-3} density=${5:-0.1} seed=${6:-1}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_mpi_yield_when_idle=1
src=$(cd "$(dirname "$0")/.." && pwd)
# ssfl-fmnist.ini's federation (100 clients, Dirichlet 0.3, 10 per round), dense MLP
base=(--set model.arch=mlp --set sparsity.method=none --set sparsity.density=1
      --set run.rounds="$rounds" --set run.seed="$seed")
mkdir -p "$out"
echo "| uploads | decoder | final acc % | mean acc, last 3 evals % | total MB up | MB up/round | vs dense | mean rho |"
echo "|---|---|---|---|---|---|---|---|"
dense_up=
for v in none randk:plain randk:spatial randk:temporal; do
  name=${v/:/-} args=(--set comm.compress="${v%%:*}")
  [[ $v == *:* ]] && args+=(--set comm.randk_density="$density" --set comm.randk_decoder="${v#*:}")
  mpirun -np "$np" "$build/bin/salient" train "$src/jobs/configs/ssfl-fmnist.ini" "${base[@]}" \
    "${args[@]}" --out "$out/$name" 2>"$out/$name.err"
  dec=-
  [[ $v == *:* ]] && dec=${v#*:}
  rho=$(sed -n 's/^salient: round [0-9]*: randk rho //p' "$out/$name.err" |
        awk '{ s += $1; n++ } END { if (n) printf "%.3f", s / n; else printf "-" }')
  up=$(awk -F, 'NR > 2 { s += $6 } END { printf "%d", s }' "$out/$name/metrics.csv")
  [[ -z $dense_up ]] && dense_up=$up
  awk -F, -v n="${v%%:*}" -v s="$dec" -v up="$up" -v d="$dense_up" -v r="$rounds" -v rho="$rho" '
    NR > 1 && $2 != "" { acc[++k] = $2 }
    END { m = (acc[k] + acc[k - 1] + acc[k - 2]) / 3
          printf "| %s | %s | %.2f | %.2f | %.1f | %.3f | %.3f | %s |\n", n, s, 100 * acc[k],
                 100 * m, up / 1e6, up / 1e6 / r, up / d, rho }' "$out/$name/metrics.csv"
done
