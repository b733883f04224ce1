#!/usr/bin/env bash
# vcluster_scaling.sh - the scaling study across nodes on the virtual cluster (issue 9), and the
# alpha-beta model of docs/scaling.md checked against it. Brings up an 8-node cluster
# (jobs/vcluster/vcluster, one rank per node, links shaped by tbf), then at each RATE:
#   1. ping-pong (build/bin/pingpong) between two nodes, 8 B .. 16 MiB: the data that alpha and
#      beta are fitted to (benchmarks/scaling_model.py --vcluster does the least squares); and
#      the same as an exchange (pingpong --exchange: both directions at once); and on each P of
#      NODES >= 2, pingpong --ring on the P nodes at once (each sends to the next, receives from
#      the previous: one ring step's traffic, and the shared cores' kernel work for P links):
#      the alpha_P, beta_P the model uses at P nodes; and on P >= 3, pingpong --ring2 (each node
#      to both neighbours at once: one gossip step on the ring graph), dpsgd's constants;
#   2. the allreduce of the model's n floats alone (salient bench allreduce: MPI_Allreduce and
#      salient's ring) on 2, 4, 8 nodes: the communication term by itself, without training;
#   3. for each algorithm a weak-scaling study through jobs/scaling.sh --nodes "1 2 4 8" (one
#      sbatch job per point, then the gather job writing scaling.csv); the jobs are submitted
#      held (--sbatch --hold) and released one at a time, so no two points overlap;
# then prints benchmarks/scaling_model.py --vcluster OUT: per point measured s/round, measured
# compute + modelled communication, the ratio, within 25% or not.
# The cluster is always brought down (trap), also on errors and Ctrl-C. Needs root and what
# jobs/vcluster/vcluster needs; where the cluster cannot run it prints why and exits 77.
#
# usage: benchmarks/vcluster_scaling.sh BUILD_DIR [OUT]
#   BUILD_DIR: holds bin/salient and bin/pingpong (a Release build)
#   OUT: keeps the raw data (pingpong-RATE.csv, exchange-RATE.csv, ring[2]-RATE-P.csv,
#        allreduce-RATE.csv, study-RATE-ALGO/ with each point's metrics.csv and the study's
#        scaling.csv); default: a temporary directory, removed at the end
#   env: RATES="1gbit 10gbit", NODES="1 2 4 8", ALGOS="allreduce dpsgd" (dpsgd: ring graph),
#        ARCH=mlp, WORK=1600 (training samples per rank per round: 50 steps of 32),
#        ROUNDS=5 (rounds 2..4 timed; the last is evaluated and left out), VC_NAME=vscal,
#        VC_DIR (default a new /tmp/vcluster-scaling.XXXXXX), IMPL=ring ([comm] allreduce of the
#        allreduce study: ring, salient's own, or mpi, MPI_Allreduce)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
root=$PWD
[[ $# -ge 1 ]] || { sed -n '21,30p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
# shellcheck source=benchmarks/lib/vcluster.sh
. "$root/benchmarks/lib/vcluster.sh"
build=$(cd "$1" 2>/dev/null && pwd) keep=${2:-}
bin=$build/bin/salient pp=$build/bin/pingpong
[[ -x $bin && -x $pp ]] || { echo "vcluster_scaling.sh: $1/bin/salient or bin/pingpong not found; build first" >&2; exit 2; }
rates=${RATES:-1gbit 10gbit} nodes=${NODES:-1 2 4 8} algos=${ALGOS:-allreduce dpsgd}
arch=${ARCH:-mlp} work=${WORK:-1600} rounds=${ROUNDS:-5} name=${VC_NAME:-vscal} impl=${IMPL:-ring}
# shellcheck disable=SC2086 # NODES is a list
maxn=$(printf '%s\n' $nodes | sort -n | tail -1)
vc=$root/jobs/vcluster/vcluster
cfg=$root/jobs/configs/scaling-smoke.ini

if [[ -n $keep ]]; then mkdir -p "$keep" && o=$(cd "$keep" && pwd) || exit 2; else o=$(mktemp -d); fi
vcdir=${VC_DIR:-$(mktemp -d /tmp/vcluster-scaling.XXXXXX)}
mkdir -p "$vcdir" && chmod o+x "$vcdir"
cleanup() {
  "$vc" down --dir "$vcdir/vc" >/dev/null 2>&1
  [[ -z ${VC_DIR:-} ]] && rm -rf "$vcdir"
  [[ -z $keep ]] && rm -rf "$o"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# the ranks share the cores: idle ranks yield instead of busy-polling; one BLAS thread per rank
export OPENBLAS_NUM_THREADS=1 OMPI_MCA_mpi_yield_when_idle=1 LC_ALL=C
[[ $(id -u) == 0 ]] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

t_start=$(date +%s)
echo "# salient's scaling across nodes on the virtual cluster (jobs/vcluster/vcluster): $maxn nodes,"
echo "# one rank per node, Open MPI over TCP through veth links shaped by tbf (both directions, per node)"
vc_header "$root"
echo "# workload: $arch, synthetic data, batch 32, weak scaling: $work samples per rank per round,"
echo "#   $rounds rounds; algorithms: $algos ([comm] allreduce = $impl); nodes: $nodes; rates: $rates"
vc_load "start"

vc_up vcluster_scaling.sh "$o/up.err" "$vc" --name "$name" --dir "$vcdir/vc" --nodes "$maxn" --rate "${rates%% *}"
srun_args=(--mpi=pmix --kill-on-bad-exit=1)
n_params=$([[ $arch == mlp ]] && echo 266610 || echo 61706) # salient's mlp and lenet5

# one study: weak scaling of ALGO at the current rate, points run one at a time
study() {
  local rate=$1 algo=$2 d=$o/study-$1-$2 ids=() gid id pname line
  local sets=(--set model.arch="$arch" --set run.rounds="$rounds" --set run.eval_every=1000
    --set data.synth_train=$((work * maxn)) --set data.synth_test=256 --set data.clients="$maxn"
    --set train.algorithm="$algo" --set topology.graph=ring --set comm.allreduce="$impl")
  SALIENT_BIN=$bin "$root/jobs/scaling.sh" --mode weak --work-per-rank "$work" --nodes "$nodes" \
    --name "sc-$algo" --time 00:10:00 --sbatch "--hold" --out "$d" "$cfg" "${sets[@]}" \
    >"$d.submit" 2>&1 || { echo "vcluster_scaling.sh: scaling.sh failed: $(tail -3 "$d.submit")" >&2; return 1; }
  while read -r _ _ pname _ _ id; do ids+=("$id:$pname"); done < <(grep '^point = ' "$d/study.ini")
  gid=$(sed -n 's/^gather_job = //p' "$d/study.ini")
  for line in "${ids[@]}"; do
    id=${line%%:*} pname=${line#*:}
    scontrol release "$id"
    vc_wait_job "$id" 900 || echo "# $rate $algo $pname: job $id still running after 900 s, cancelled"
    if [[ ! -f $d/$pname/summary.json ]]; then
      # a point that failed (e.g. a rank's SIGSEGV in MPI_Init, see vc_launch): once more by
      # srun in an allocation of the same nodes; the gather job then never runs (afterok)
      echo "# RETRY: $rate $algo $pname: job $id failed: $(grep -v '^\[' "$d"/slurm-"$id".out | tail -1)"
      local nn=${pname#nodes-} ps=(--set "data.train_limit=$((work * ${pname#nodes-}))")
      rm -rf "${d:?}/$pname"
      VC_RETRY_CLEAN=$d/$pname vc_launch "$rate $algo $pname" 600 "$d/$pname.retry.out" "$d/$pname.retry.err" \
        srun -N "$nn" -n "$nn" "${srun_args[@]}" "$bin" train "$cfg" "${sets[@]}" "${ps[@]}" --out "$d/$pname"
    fi
  done
  scontrol release "$gid"
  vc_wait_job "$gid" 300
  [[ -f $d/scaling.csv ]] || { scancel "$gid" 2>/dev/null; "$root/jobs/gather.sbatch" "$d" >"$d/gather.out" 2>&1; }
  echo "### $rate, $algo: $d/scaling.csv"
  cat "$d/scaling.csv"
}

for rate in $rates; do
  "$vc" rate --dir "$vcdir/vc" all "$rate" 2>/dev/null || { echo "vcluster_scaling.sh: cannot set $rate" >&2; exit 1; }
  echo
  echo "## links at $rate"
  vc_load "before $rate"
  echo "### 1. ping-pong, node1 <-> node2 (one-way s = round trip / 2): $o/pingpong-$rate.csv"
  vc_launch "pingpong $rate" 300 "$o/pingpong-$rate.csv" "$o/pingpong-$rate.err" \
    srun -N 2 -n 2 -w "node[1-2]" "${srun_args[@]}" "$pp" --min 8 --max 16777216 --reps 20 || exit 1
  cat "$o/pingpong-$rate.csv"
  echo "### 1b. exchange, node1 <-> node2 (both send at once, MPI_Sendrecv; s per exchange): $o/exchange-$rate.csv"
  vc_launch "exchange $rate" 300 "$o/exchange-$rate.csv" "$o/exchange-$rate.err" \
    srun -N 2 -n 2 -w "node[1-2]" "${srun_args[@]}" "$pp" --exchange --min 8 --max 16777216 --reps 20 || exit 1
  cat "$o/exchange-$rate.csv"
  for P in $nodes; do
    ((P >= 2)) || continue
    echo "### 1c. ring exchange on $P nodes at once (pingpong --ring; s per exchange, slowest rank): $o/ring-$rate-$P.csv"
    vc_launch "ring exchange $rate P=$P" 300 "$o/ring-$rate-$P.csv" "$o/ring-$rate-$P.err" \
      srun -N "$P" -n "$P" -w "node[1-$P]" "${srun_args[@]}" "$pp" --ring --min 8 --max 16777216 --reps 20 || exit 1
    cat "$o/ring-$rate-$P.csv"
    ((P >= 3)) || continue
    echo "### 1d. both ring neighbours at once on $P nodes (pingpong --ring2; s per exchange, slowest rank): $o/ring2-$rate-$P.csv"
    vc_launch "ring2 exchange $rate P=$P" 300 "$o/ring2-$rate-$P.csv" "$o/ring2-$rate-$P.err" \
      srun -N "$P" -n "$P" -w "node[1-$P]" "${srun_args[@]}" "$pp" --ring2 --min 8 --max 16777216 --reps 20 || exit 1
    cat "$o/ring2-$rate-$P.csv"
  done
  echo "### 2. the allreduce of $n_params floats alone (salient bench allreduce --density 1 --algos dense,ring): $o/allreduce-$rate.csv"
  echo "algo,ranks,n,density,bytes,median_s" >"$o/allreduce-$rate.csv"
  for P in $nodes; do
    ((P >= 2)) || continue
    vc_launch "bench allreduce $rate P=$P" 300 "$o/ar.csv" "$o/ar.err" srun -N "$P" -n "$P" -w "node[1-$P]" \
      "${srun_args[@]}" "$bin" bench allreduce --n "$n_params" --density 1 --reps 21 --warmup 3 \
      --algos dense,ring || exit 1
    grep -E '^(dense|ring),' "$o/ar.csv" >>"$o/allreduce-$rate.csv"
  done
  cat "$o/allreduce-$rate.csv"
  echo "### 3. weak-scaling studies (jobs/scaling.sh --mode weak --work-per-rank $work --nodes \"$nodes\")"
  for algo in $algos; do
    vc_load "before $rate $algo"
    study "$rate" "$algo" || exit 1
  done
done
"$vc" down --dir "$vcdir/vc" >/dev/null 2>&1
vc_load "after the studies"

echo
echo "## the alpha-beta model against the measured points"
echo "# /usr/bin/python3 benchmarks/scaling_model.py --vcluster $o --model $arch"
/usr/bin/python3 "$root/benchmarks/scaling_model.py" --vcluster "$o" --model "$arch"
echo
echo "# launches retried (a rank's SIGSEGV in MPI_Init or a hang, see benchmarks/lib/vcluster.sh): $VC_RETRIES"
echo "# total time of this script: $(($(date +%s) - t_start)) s"
exit 0
