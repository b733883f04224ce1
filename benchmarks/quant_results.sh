#!/usr/bin/env bash
# quant_results.sh - fedavg's uploads dense vs QSGD (s = 255, 15, 3) vs AdaQuantFL (s0 = 3) on
# Fashion-MNIST: final accuracy and total bytes, as docs/results.md's table ("Quantized fedavg
# uploads"). Usage: benchmarks/quant_results.sh BUILD OUT [ROUNDS] [RANKS]   (defaults 50, 3)
set -eu
build=$1 out=$2 rounds=${3:-50} np=${4:-3}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_mpi_yield_when_idle=1
src=$(cd "$(dirname "$0")/.." && pwd)
# ssfl-fmnist.ini's federation (100 clients, Dirichlet 0.3, 10 per round), dense MLP
base=(--set model.arch=mlp --set sparsity.method=none --set sparsity.density=1
      --set run.rounds="$rounds")
mkdir -p "$out"
echo "| uploads | levels s | final acc % | mean acc, last 3 evals % | total MB up | MB up/round | vs dense |"
echo "|---|---|---|---|---|---|---|"
dense_up=
for q in none qsgd:255 qsgd:15 qsgd:3 adaquant:3; do
  name=${q/:/-} lv=()
  [[ $q == *:* ]] && lv=(--set comm.quantize_levels="${q#*:}")
  mpirun -np "$np" "$build/bin/salient" train "$src/jobs/configs/ssfl-fmnist.ini" "${base[@]}" \
    --set comm.quantize="${q%%:*}" "${lv[@]}" --out "$out/$name" 2>"$out/$name.err"
  s=${q#*:}
  [[ $q == none ]] && s=-
  [[ $q == adaquant:* ]] &&
    s="$s..$(sed -n 's/^salient: round [0-9]*: adaquant levels //p' "$out/$name.err" | sort -n | tail -1)"
  up=$(awk -F, 'NR > 2 { s += $6 } END { printf "%d", s }' "$out/$name/metrics.csv")
  [[ -z $dense_up ]] && dense_up=$up
  awk -F, -v n="${q%%:*}" -v s="$s" -v up="$up" -v d="$dense_up" -v r="$rounds" '
    NR > 1 && $2 != "" { acc[++k] = $2 }
    END { m = (acc[k] + acc[k - 1] + acc[k - 2]) / 3
          printf "| %s | %s | %.2f | %.2f | %.1f | %.3f | %.3f |\n", n, s, 100 * acc[k], 100 * m,
                 up / 1e6, up / 1e6 / r, up / d }' "$out/$name/metrics.csv"
done
