#!/usr/bin/env bash
# methods_results.sh - issue 22's comparison: every communication-saving method of salient on one
# federation, each as a `salient compare --seeds N` study (mean and sample std over seeds), then
# one table (docs/results.md, "Every method against its bytes") and one plot, final accuracy
# against total bytes moved (OUT/methods.png, gnuplot).
#
#   benchmarks/methods_results.sh BUILD OUT [ROUNDS] [SEEDS] [RANKS] [METHOD...]
#   defaults: 30 rounds, 3 seeds, 4 ranks, every method below
#
# Federation: jobs/configs/ssfl-fmnist.ini (LeNet-5 on Fashion-MNIST, 100 clients, balanced
# Dirichlet 0.3, 10 sampled a round, 1 local epoch). Target accuracy for bytes_to_target: 0.7.
# An interrupted run continues (--resume) where a study's directory exists.
set -eu
build=$1 out=$2 rounds=${3:-30} seeds=${4:-3} np=${5:-4}
shift $(($# < 5 ? $# : 5))
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_mpi_yield_when_idle=1
src=$(cd "$(dirname "$0")/.." && pwd)
cfg=$src/jobs/configs/ssfl-fmnist.ini
target=0.7

ssfl() { echo "--set sparsity.method=snip --set sparsity.density=$1"; }
q() { echo "$(ssfl 0.1) --set comm.quantize=$1 --set comm.quantize_levels=$2"; }
rk() { echo "--set sparsity.method=none --set sparsity.density=1 --set comm.compress=randk --set comm.randk_density=0.1 --set comm.randk_decoder=$1"; }
# iterative schedules: 2 cycles of a third of the rounds each, from dense, pruned by magnitude
# after each; the last third trains at the final density (same total rounds as the others)
it() { echo "--set sparsity.method=none --set sparsity.schedule=$1 --set sparsity.density=$2 --set sparsity.cycles=2 --set sparsity.cycle_rounds=$((rounds / 3))"; }
sc() { echo "--set sparsity.method=snip --set sparsity.schedule=sculpt --set sparsity.density=$1 --set sparsity.start_density=$(awk -v d="$1" 'BEGIN { print 2 * d }') --set sparsity.cycles=2 --set sparsity.cycle_rounds=$((rounds / 3))"; }
declare -A M=(
  [dense]="--set sparsity.method=none --set sparsity.density=1"
  [ssfl-0.1]="$(ssfl 0.1)"
  [ssfl-0.05]="$(ssfl 0.05)"
  [ssfl-0.1+qsgd8]="$(q qsgd 127)"
  [ssfl-0.1+qsgd4]="$(q qsgd 7)"
  [ssfl-0.1+qsgd2]="$(q qsgd 1)"
  [ssfl-0.1+adaquant]="$(q adaquant 1)"
  [randk-plain]="$(rk plain)"
  [randk-spatial]="$(rk spatial)"
  [randk-temporal]="$(rk temporal)"
  [imp-0.1]="$(it imp 0.1) --set sparsity.rewind_round=1"
  [lrr-0.1]="$(it lrr 0.1)"
  [sculpt-0.1]="$(sc 0.1)"
  [imp-0.05]="$(it imp 0.05) --set sparsity.rewind_round=1"
  [lrr-0.05]="$(it lrr 0.05)"
  [sculpt-0.05]="$(sc 0.05)"
)
order=(dense ssfl-0.1 ssfl-0.05 ssfl-0.1+qsgd8 ssfl-0.1+qsgd4 ssfl-0.1+qsgd2 ssfl-0.1+adaquant
       randk-plain randk-spatial randk-temporal imp-0.1 lrr-0.1 sculpt-0.1 imp-0.05 lrr-0.05
       sculpt-0.05)
(($#)) && order=("$@")
mkdir -p "$out"
for m in "${order[@]}"; do
  [[ -n ${M[$m]+x} ]] || { echo "methods_results.sh: unknown method '$m' (${!M[*]})" >&2; exit 2; }
  [[ -s $out/$m/summary.csv ]] && continue
  again=()
  [[ -e $out/$m/study.ini ]] && again=(--resume)
  echo "methods_results.sh: $m" >&2
  # shellcheck disable=SC2086  # the method's --set list splits on spaces by design
  mpirun -np "$np" "$build/bin/salient" compare "$cfg" --algorithms fedavg --seeds "$seeds" \
    --target "$target" --set run.rounds="$rounds" ${M[$m]} "${again[@]}" --out "$out/$m" \
    >"$out/$m.log" 2>&1 || { echo "methods_results.sh: $m failed: $(tail -2 "$out/$m.log")" >&2; exit 1; }
done

# the table: one row per method from its summary.csv (columns by name)
col() { awk -F, -v k="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == k) c = i; next } { print $c; exit }' "$1"; }
dense_b=$(col "$out/dense/summary.csv" bytes_total_mean)
dense_t=$(col "$out/dense/summary.csv" bytes_to_target_mean)
{
  echo "| method | final acc % (mean +- std, $seeds seeds) | total MB | vs dense | MB to $target | vs dense |"
  echo "|---|---|---|---|---|---|"
  for m in "${order[@]}"; do
    s=$out/$m/summary.csv
    awk -v m="$m" -v a="$(col "$s" final_acc_mean)" -v sd="$(col "$s" final_acc_std)" \
      -v b="$(col "$s" bytes_total_mean)" -v t="$(col "$s" bytes_to_target_mean)" \
      -v n="$(col "$s" n_reached)" -v db="$dense_b" -v dt="$dense_t" -v ns="$seeds" 'BEGIN {
        tt = n == ns ? sprintf("%.1f | %.3f", t / 1e6, t / dt) : (n > 0 ? sprintf("%.1f (%d of %d seeds) | -", t / 1e6, n, ns) : "never | -")
        printf "| %s | %.2f +- %.2f | %.1f | %.3f | %s |\n", m, 100 * a, 100 * sd, b / 1e6, b / db, tt }'
  done
} | tee "$out/methods.md"

# the plot: final accuracy (error bar: std over seeds) against total MB, log x
if command -v gnuplot >/dev/null; then
  for m in "${order[@]}"; do
    s=$out/$m/summary.csv
    echo "$(col "$s" bytes_total_mean) $(col "$s" final_acc_mean) $(col "$s" final_acc_std) $m"
  done >"$out/methods.dat"
  # one entry a method (point type and colour by row), the legend to the right: the SSFL
  # variants sit within a few MB of each other, where labels on the points would overlap
  n=$(wc -l <"$out/methods.dat")
  names=$(cut -d' ' -f4 "$out/methods.dat" | tr '\n' ' ')
  gnuplot -e "set terminal pngcairo size 1150,650; set output '$out/methods.png';
    set title \"LeNet-5, Fashion-MNIST, 100 clients (Dirichlet 0.3), $rounds rounds: final accuracy against bytes\\nmean of $seeds seeds, error bars +-1 std\";
    set logscale x; set xrange [20:300]; set xtics (20, 30, 50, 70, 100, 150, 200, 300); set xlabel 'total MB moved (up + down, all rounds, log scale)';
    set ylabel 'final test accuracy'; set grid; set key outside right top font ',9';
    plot for [i=0:$((n - 1))] '$out/methods.dat' every ::i::i using (\$1/1e6):2:3 \
      with yerrorbars pt (i % 13 + 1) ps 1.5 lw 1.5 lc (i + 1) title word('$names', i + 1)"
  echo "methods_results.sh: $out/methods.md $out/methods.png" >&2
fi
