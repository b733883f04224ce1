#!/usr/bin/env bash
# fedavg_throughput.sh - is a FedAvg round as fast per sample as single-rank training, plus
# communication? LeNet-5 on Fashion-MNIST, batch 32, one thread per rank: centralized SGD for
# one epoch against FedAvg rounds of 10 sampled clients x 1 local epoch (600 samples each),
# dense and SSFL at density 0.1, on 2 ranks (one client rank: the same single core's work plus
# the protocol) and on more ranks (client ranks in parallel; ranks beyond the cores are
# oversubscribed, and the table says so). Only the last FedAvg round is evaluated; the table
# reports the median over rounds 2..R-1. DATA=dir overrides the Fashion-MNIST directory.
# Clients train on their home ranks ([run] placement = block; PLACEMENT=balanced changes it):
# the stored results (benchmarks/results/fedavg-throughput-*.txt) were measured so, and
# benchmarks/scaling_model.py replays that placement's busiest rank.
# usage: benchmarks/fedavg_throughput.sh [build=build] [rounds=12] [ranks="2 3"]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build} rounds=${2:-12} ranklist=${3:-2 3}
data=(); [[ -n ${DATA:-} ]] && data=(--set "data.path=$DATA")
export OPENBLAS_NUM_THREADS=1 OMPI_MCA_mpi_yield_when_idle=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_hwloc_base_binding_policy=none
[[ $(id -u) == 0 ]] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
median() { sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

echo "# FedAvg round throughput vs single-rank training: lenet5, Fashion-MNIST, batch 32," \
  "1 thread/rank, placement ${PLACEMENT:-block}"
echo "# machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; Open MPI $(mpirun --version | sed -n 's/.*(Open MPI) //p')"
"$build/bin/salient" train jobs/configs/lenet5-fmnist.ini "${data[@]}" --set train.batch=32 --set run.rounds=1 \
  --out "$tmp/central" 2>/dev/null
central=$(awk -F, 'NR == 2 {print $13}' "$tmp/central/metrics.csv")
printf "%-28s %12s %12s %14s %10s %10s\n" run samples/s vs_central compute_samp/s comm_ms wait_ms
printf "%-28s %12.0f %12s %14s %10s %10s\n" "centralized (1 rank)" "$central" 1.00 - - -
for np in $ranklist; do
  (( np > $(nproc) )) && echo "# note: $np ranks on $(nproc) cores are oversubscribed"
  for m in none snip; do
    d=1; [[ $m == snip ]] && d=0.1
    out="$tmp/f$np$m"
    mpirun -np $np "$build/bin/salient" train jobs/configs/ssfl-fmnist.ini "${data[@]}" --set run.rounds="$rounds" \
      --set run.eval_every=100000 --set sparsity.method=$m --set sparsity.density=$d \
      --set run.placement="${PLACEMENT:-block}" --out "$out" 2>/dev/null
    # rows 2..R-1 of the training rounds (skip round 0, the first and the evaluated last)
    rows() { awk -F, -v R="$rounds" 'NR > 1 && $1 >= 2 && $1 < R' "$out/metrics.csv"; }
    sps=$(rows | awk -F, '{print $13}' | median)
    # compute_s is the busiest client rank's training + the server's work; 10 clients x 600
    csps=$(rows | awk -F, '{print 6000 / $10}' | median)
    comm=$(rows | awk -F, '{print 1000 * $8}' | median)
    wait=$(rows | awk -F, '{print 1000 * $9}' | median)
    printf "%-28s %12.0f %12.2f %14.0f %10.1f %10.1f\n" "fedavg $m d=$d, $np ranks" "$sps" \
      "$(awk -v a="$sps" -v b="$central" 'BEGIN {print a / b}')" "$csps" "$comm" "$wait"
  done
done
