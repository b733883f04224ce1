#!/usr/bin/env bash
# ordering_results.sh - issue 21's "paper's ordering" at a scale two cores can run: SSFL against
# dense FedAvg and the single-pass pruning-at-init baselines (random, ERK, global magnitude,
# single-site SNIP) on ResNet-20 with GroupNorm, mean +- std over seeds, global and per-client
# accuracy (docs/results.md, "The paper's ordering on ResNet-20").
#
#   benchmarks/ordering_results.sh BUILD OUT [ROUNDS] [SEEDS] [RANKS]
#   defaults: 24 rounds, 3 seeds, 3 ranks (the server and two client ranks)
#   env STUDIES="dense snip baselines": only those studies (default: all four below)
#   env DATA=synthetic-cifar: the same on synthetic-cifar (3x32x32, 20000 training and 2000
#   test images generated from the seed, crop-and-flip augmentation as CIFAR) in place of
#   Fashion-MNIST: the CIFAR path, on machines without CIFAR
#
# Federation: jobs/configs/ssfl-fmnist.ini (Fashion-MNIST, 100 clients, balanced Dirichlet 0.3,
# 10 sampled a round, 1 local epoch) with model.arch=resnet20 (norm=group), batch 16 (the
# paper's), and the first 20000 training samples (200 a client) and 2000 test samples, so that a
# run takes about two minutes here. Three `salient compare --seeds` studies, one command each:
#   dense       sparsity.method=none
#   snip        SSFL (source=clients) and single-site SNIP (source=server) at 0.5, 0.1, 0.05
#   baselines   random, erk, magnitude at 0.1 and 0.05
#   layerwise   SSFL with [sparsity] scope = layerwise (each layer's own top share) at 0.1, 0.05
# Then OUT/ordering.md (the table) and OUT/ordering.png (gnuplot: test accuracy per method at
# each density, error bars +-1 std over seeds, dense FedAvg's mean +-1 std as a band).
# An interrupted run continues (--resume) where a study's directory exists; a finished study
# only has its tables written again.
set -eu
build=$1 out=$2 rounds=${3:-24} seeds=${4:-3} np=${5:-3}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_mpi_yield_when_idle=1
src=$(cd "$(dirname "$0")/.." && pwd)
cfg=$src/jobs/configs/ssfl-fmnist.ini
data=${DATA:-fashion-mnist}
case $data in
  fashion-mnist) dset=(--set data.train_limit=20000 --set data.test_limit=2000)
                 label="Fashion-MNIST (20000 samples)" ;;
  synthetic-cifar) dset=(--set data.dataset=synthetic-cifar --set data.synth_train=20000
                         --set data.synth_test=2000)
                   label="synthetic-cifar (20000 samples)" ;;
  *) echo "ordering_results.sh: DATA=$data: use fashion-mnist or synthetic-cifar" >&2; exit 2 ;;
esac
common=(--set model.arch=resnet20 --set model.norm=group --set train.batch=16 "${dset[@]}"
        --set run.rounds="$rounds" --set run.eval_every=$((rounds / 4)) --seeds "$seeds"
        --target 0.6)
declare -A V=(
  [dense]="--vary sparsity.method=none --vary sparsity.density=1"
  [snip]="--vary sparsity.method=snip --vary sparsity.source=clients,server --vary sparsity.density=0.5,0.1,0.05"
  [baselines]="--vary sparsity.method=random,erk,magnitude --vary sparsity.density=0.1,0.05"
  [layerwise]="--vary sparsity.method=snip --vary sparsity.scope=layerwise --vary sparsity.density=0.1,0.05"
)
read -ra order <<<"${STUDIES:-dense snip baselines layerwise}"
for s in "${order[@]}"; do
  [[ -n ${V[$s]+x} ]] || { echo "ordering_results.sh: STUDIES: '$s' is not one of ${!V[*]}" >&2; exit 2; }
done
mkdir -p "$out"
for s in "${order[@]}"; do
  # a finished study's tables are written again by this build (--gather runs nothing)
  again=()
  [[ -e $out/$s/study.ini ]] && again=(--resume)
  [[ -s $out/$s/summary.csv ]] && again=(--gather)
  echo "ordering_results.sh: $s ($(date +%T))" >&2
  # shellcheck disable=SC2086  # the study's --vary list splits on spaces by design
  mpirun -np "$np" "$build/bin/salient" compare "$cfg" --algorithms fedavg "${common[@]}" \
    ${V[$s]} "${again[@]}" --out "$out/$s" >"$out/$s.log" 2>&1 ||
    { echo "ordering_results.sh: $s failed: $(tail -2 "$out/$s.log")" >&2; exit 1; }
done

# one table from the three summary.csv files, columns by name; rows: dense, then by density
# (SSFL first), so that each density's block reads as the paper's table does
{
  echo "| method | density | test acc % (mean +- std, $seeds seeds) | client acc % (mean +- std) | client acc min % | MB total |"
  echo "|---|---|---|---|---|---|"
  for s in "${order[@]}"; do
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
      { m = $c["sparsity.method"]; src = ("sparsity.source" in c) ? $c["sparsity.source"] : ""
        lw = ("sparsity.scope" in c) && $c["sparsity.scope"] == "layerwise"
        name = m == "none" ? "dense FedAvg" : m == "snip" ? (src == "server" ? "single-site SNIP" : lw ? "SSFL, layerwise" : "SSFL") : m
        key = m == "none" ? 0 : (m == "snip" && src != "server" ? (lw ? 2 : 1) : 3)
        printf "%s\t%d\t| %s | %s | %.2f +- %.2f | %.2f +- %.2f | %.2f +- %.2f | %.1f |\n", \
          $c["sparsity.density"], key, name, $c["sparsity.density"], 100 * $c["final_acc_mean"], \
          100 * $c["final_acc_std"], 100 * $c["client_acc_mean_mean"], 100 * $c["client_acc_mean_std"], \
          100 * $c["client_acc_min_mean"], 100 * $c["client_acc_min_std"], $c["bytes_total_mean"] / 1e6 }' \
      "$out/$s/summary.csv"
  done | sort -t$'\t' -k1,1gr -k2,2n -s | cut -f3
} | tee "$out/ordering.md"

# the plot: x = the density (categorical, sparsest right), each method a little offset so that
# the error bars stay apart; dense FedAvg as a band across
if command -v gnuplot >/dev/null; then
  for s in "${order[@]}"; do
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
      { m = $c["sparsity.method"]; src = ("sparsity.source" in c) ? $c["sparsity.source"] : ""
        lw = ("sparsity.scope" in c) && $c["sparsity.scope"] == "layerwise"
        name = m == "none" ? "dense" : m == "snip" ? (src == "server" ? "single-site-SNIP" : lw ? "SSFL-layerwise" : "SSFL") : m
        k = name == "SSFL" ? 0 : name == "SSFL-layerwise" ? 1 : name == "single-site-SNIP" ? 2 : name == "random" ? 3 : name == "erk" ? 4 : 5
        d = $c["sparsity.density"]; x = (d == 0.5 ? 1 : d == 0.1 ? 2 : 3) + 0.09 * (k - 2.5)
        print name, (m == "none" ? 0 : x), 100 * $c["final_acc_mean"], 100 * $c["final_acc_std"] }' \
      "$out/$s/summary.csv"
  done >"$out/ordering.dat"
  read -r dm ds < <(awk '$1 == "dense" { print $3, $4 }' "$out/ordering.dat")
  gnuplot <<GP
set terminal pngcairo size 1000,600
set output '$out/ordering.png'
set title "ResNet-20 (GroupNorm), $label, 100 clients (Dirichlet 0.3), $rounds rounds\\nfinal test accuracy, mean of $seeds seeds, error bars +-1 std"
set xrange [0.5:3.5]
set xtics ('density 0.5' 1, 'density 0.1' 2, 'density 0.05' 3)
set ylabel 'final test accuracy (%)'
set grid ytics
set key outside right top
set style fill transparent solid 0.35 noborder
ms = "SSFL SSFL-layerwise single-site-SNIP random erk magnitude"
cs = "#d62728 #ff7f0e #1f77b4 #2ca02c #9467bd #8c564b"
plot '+' using 1:($dm - $ds):($dm + $ds) with filledcurves lc rgb '#999999' title 'dense FedAvg +-1 std', \
  $dm with lines lc rgb '#555555' dt 2 notitle, \
  for [i=1:words(ms)] '$out/ordering.dat' using (strcol(1) eq word(ms, i) ? \$2 : 1/0):3:4 \
    with yerrorbars pt 7 ps 1.3 lw 1.5 lc rgb word(cs, i) title word(ms, i)
GP
  echo "ordering_results.sh: $out/ordering.md $out/ordering.png" >&2
fi
