#!/usr/bin/env bash
# vcluster_exchange.sh - why the virtual cluster sets Open MPI's btl_tcp_rdma_pipeline_frag_size:
# D-PSGD on 2 nodes at 1 Gb/s (mlp, 266610 floats: one 1.07 MB MPI_Sendrecv each way per gossip
# step, 50 steps a round) under combinations of that fragment size (128k, vcluster's; 2g, Open
# MPI 4.1's default: the whole message past 128 KiB in one fragment), the nodes' TCP congestion
# control (host: this machine's, e.g. bbr; cubic) and CPU binding (node: node K on the K-th
# CPU; none: the kernel places the ranks; one: both ranks on the first CPU).
# Per setup: the least, median and largest comm_s of a round, and how many rounds ran at the
# link's rate ("fast": at most 1.15 x the least round of all setups; 50 x 1.07 MB at 1 Gb/s is
# 0.43 s, a little less with tbf's burst). A new cluster for each setup, brought down after it
# (and on errors and Ctrl-C).
# Needs root and what jobs/vcluster/vcluster needs; where the cluster cannot run: exit 77.
#
# usage: benchmarks/vcluster_exchange.sh BUILD_DIR [OUT]
#   OUT: keeps each run's metrics and logs; default: a temporary directory, removed at the end.
#   env: ROUNDS=16, RUNS=2 (runs of each setup), RATE=1gbit, SETUPS="host:none:2g
#        host:none:128k cubic:none:2g cubic:node:2g host:one:2g host:one:128k cubic:node:128k"
#        (CC:BINDING:FRAG)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
root=$PWD
source "$root/benchmarks/lib/vcluster.sh"
[[ $# -ge 1 ]] || { sed -n '14,18p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
bin=$(cd "$1" 2>/dev/null && pwd)/bin/salient keep=${2:-}
[[ -x $bin ]] || { echo "vcluster_exchange.sh: $1/bin/salient not found; build first" >&2; exit 2; }
rounds=${ROUNDS:-16} runs=${RUNS:-2} rate=${RATE:-1gbit}
setups=${SETUPS:-host:none:2g host:none:128k cubic:none:2g cubic:node:2g host:one:2g host:one:128k cubic:node:128k}
vc=$root/jobs/vcluster/vcluster
cfg=$root/jobs/configs/scaling-smoke.ini

if [[ -n $keep ]]; then mkdir -p "$keep" && o=$(cd "$keep" && pwd) || exit 2; else o=$(mktemp -d); fi
vcdir=$(mktemp -d /tmp/vcluster-exchange.XXXXXX)
chmod o+x "$vcdir"
cleanup() {
  "$vc" down --dir "$vcdir/vc" >/dev/null 2>&1
  rm -rf "$vcdir"
  [[ -z $keep ]] && rm -rf "$o"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
export OPENBLAS_NUM_THREADS=1 OMPI_MCA_mpi_yield_when_idle=1 LC_ALL=C
[[ $(id -u) == 0 ]] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

echo "# D-PSGD on 2 nodes of the virtual cluster at $rate: comm_s of each round (50 gossip steps,"
echo "# each a 1.07 MB MPI_Sendrecv both ways), per TCP congestion control, CPU binding and"
echo "# btl_tcp_rdma_pipeline_frag_size (CC:BINDING:FRAG)"
vc_header "$root"
echo "# this machine's TCP congestion control: $(cat /proc/sys/net/ipv4/tcp_congestion_control)"
vc_load "start"
: >"$o/rounds.csv" # setup,run,round,comm_s
for s in $setups; do
  IFS=: read -r cc bind frag <<<"$s"
  case $frag in 128k) frag=131072 ;; 2g) frag=2147482624 ;; esac
  args=(--tcp-cc "$cc" --cpu-bind "$bind")
  [[ $bind == one ]] && args=(--tcp-cc "$cc" --cpu-bind none)
  VC_ARGS="" vc_up vcluster_exchange.sh "$o/up.err" "$vc" --name vex --dir "$vcdir/vc" --nodes 2 \
    --rate "$rate" "${args[@]}" >/dev/null
  for r in $(seq "$runs"); do
    d=$o/$cc-$bind-$frag-$r
    rm -rf "$d"
    OMPI_MCA_btl_tcp_rdma_pipeline_frag_size=$frag srun -N 2 -n 2 --mpi=pmix "$bin" train "$cfg" --set model.arch=mlp --set run.rounds="$rounds" \
      --set run.eval_every=1000 --set data.synth_train=3200 --set data.synth_test=256 \
      --set data.clients=2 --set train.algorithm=dpsgd --set topology.graph=ring --out "$d" \
      >"$d.log" 2>&1 &
    p=$!
    if [[ $bind == one ]]; then # both ranks onto the first CPU, as soon as they exist
      first=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status | cut -d, -f1 | cut -d- -f1)
      for _ in $(seq 100); do
        mapfile -t pids < <(pgrep -x salient)
        ((${#pids[@]} >= 2)) && break
        sleep 0.05
      done
      for q in "${pids[@]}"; do taskset -a -p -c "$first" "$q" >/dev/null 2>&1; done
    fi
    wait "$p" || { echo "vcluster_exchange.sh: $s run $r failed: $(tail -2 "$d.log")" >&2; exit 1; }
    awk -F, -v s="$s" -v r="$r" 'NR > 1 { print s "," r "," $1 "," $8 }' "$d/metrics.csv" >>"$o/rounds.csv"
  done
  "$vc" down --dir "$vcdir/vc" >/dev/null 2>&1
done
vc_load "end"

echo
echo "setup                runs rounds  least_s median_s   max_s  fast  (fast: comm_s <= 1.15 x the least round of all setups)"
awk -F, '
  { n[$1]++; v[$1, n[$1]] = $4; if (!($1 in lo) || $4 < lo[$1]) lo[$1] = $4; if ($4 > hi[$1]) hi[$1] = $4
    if (best == "" || $4 < best) best = $4; if (!($1 in seen)) { seen[$1] = 1; order[++k] = $1 } }
  END {
    for (i = 1; i <= k; i++) {
      s = order[i]; m = n[s]; f = 0
      for (j = 1; j <= m; j++) { a[j] = v[s, j]; if (v[s, j] <= 1.15 * best) f++ }
      for (j = 2; j <= m; j++) for (x = j; x > 1 && a[x - 1] > a[x]; x--) { t = a[x]; a[x] = a[x - 1]; a[x - 1] = t }
      med = m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
      printf "%-20s %4d %6d %8.3f %8.3f %7.3f  %2d of %d\n", s, m / '"$rounds"', m, lo[s], med, hi[s], f, m
      delete a
    }
  }' "$o/rounds.csv"
echo "# raw: $o/rounds.csv (setup,run,round,comm_s)"
