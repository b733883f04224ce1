#!/usr/bin/env bash
# gossip.sh - one gossip averaging step per rank vs rank count, for ring and exponential graphs
# (static and one-peer), against MPI_Allreduce of the same vector in the same run.
# usage: benchmarks/gossip.sh [build=build] ["ranks"="2 4 8 16"] ["log2 sizes"="16 20 22"]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build} ranks=${2:-"2 4 8 16"} sizes=${3:-"16 20 22"}
export OPENBLAS_NUM_THREADS=1 OMPI_MCA_rmaps_base_oversubscribe=1
[[ $(id -u) == 0 ]] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cores=$(nproc)
echo "# one gossip step (MH weights) vs MPI_Allreduce, n floats per rank, median of 20, ms"
echo "# machine: $(lscpu | sed -n 's/^Model name: *//p'), $cores cores; Open MPI $(mpirun --version | sed -n 's/.*(Open MPI) //p'); one node, shared memory"
printf "%-20s %6s %9s %7s %12s %12s %12s %8s\n" graph ranks n degree bytes/rank gossip_ms allreduce_ms ratio
for P in $ranks; do
  if ((P > cores)); then
    echo "# CAVEAT: $P ranks > $cores cores: oversubscribed, times measure time-sharing"
    export OMPI_MCA_mpi_yield_when_idle=1
  fi
  for e in $sizes; do
    for g in ring exponential onepeer-exponential; do
      # the one-peer graph pairs ranks by XOR: it needs a power of two
      [[ $g == onepeer-exponential ]] && (((P & (P - 1)) != 0)) && continue
      IFS=, read -r gr p n deg bytes med ar ratio < <(mpirun -np "$P" "$build/bin/salient" bench gossip \
        --graph "$g" --n $((1 << e)) --reps 20 | tail -1)
      printf "%-20s %6s %9s %7s %12s %12.3f %12.3f %8s\n" "$gr" "$p" "$n" "$deg" "$bytes" \
        "$(awk -v t="$med" 'BEGIN {print 1000 * t}')" "$(awk -v t="$ar" 'BEGIN {print 1000 * t}')" "$ratio"
    done
  done
done
