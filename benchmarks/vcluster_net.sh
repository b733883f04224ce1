#!/usr/bin/env bash
# vcluster_net.sh - communication across nodes on the virtual cluster (issue 9). Brings up a
# cluster of 5 nodes, or the largest of NODES (jobs/vcluster/vcluster, links shaped by tbf), then:
#   1. collectives: `salient bench allreduce` with one rank per node on P = 2 and 4 nodes, links
#      at each RATE: every algorithm's median time and bytes beside the link bound (the least
#      time the bytes one rank's link must carry take at the nominal rate) and the fraction of
#      it reached; the targets: masked at 10% <= 0.15 x dense, best sparse at 1% >= 20x faster
#      than dense (2^22 floats, 4 nodes, 1 Gb/s), auto picking the fastest, our ring >= 0.8 of
#      its link bound at 2^24 floats on 2 and 4 nodes, 1 Gb/s (SIZES=24 DENSITIES=1 for that);
#   2. SSFL vs dense FedAvg: jobs/configs/ssfl-fmnist.ini (lenet5, Fashion-MNIST, density 0.1)
#      and the same with sparsity.method=none, density 1, on a server + 4 client nodes at
#      TRAIN_RATE: per-round comm_s, wall_s, the SSFL/dense ratios; then both runs again under
#      `mpirun -np 5` on this machine without shaping: final accuracy, and metrics.csv columns
#      1-7 and 12 (round .. bytes_down, lr) compared byte for byte.
# The cluster is always brought down (trap), also on errors and Ctrl-C. Needs root and what
# jobs/vcluster/vcluster needs; where the cluster cannot run it prints why and exits 77.
#
# usage: benchmarks/vcluster_net.sh BUILD_DIR [OUT]
#   OUT: a directory that keeps the raw data (collectives.csv, the runs' metrics and logs);
#        default: a temporary directory, removed at the end.
#   env: RATES="1gbit 10gbit" (collectives), NODES="2 4", SIZES="16 20 22" (log2 n),
#        DENSITIES="0.01 0.1 1", REPS=9 (REPS_BIG=5 for n >= 2^22), WARMUP=2, MIN_TIME=0
#        (bench's --min-time: more rounds until the calls of a point add up to that many s),
#        TRAIN_RATE=100mbit, ROUNDS=10, TRAIN=1 (0: collectives only), VC_NAME=vnet,
#        COST="--alpha A --beta B ..." (auto's cost constants, e.g. from benchmarks/pingpong.c on
#        the same links; default: allreduce.h's, fitted on one node), COST_FILE=F (lines
#        "P=8: --alpha A ...": constants per node count, as benchmarks/costmodel_fit.py prints
#        them; a P without a line gets COST)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
root=$PWD
source "$root/benchmarks/lib/vcluster.sh" # vc_load, vc_rate_bits, vc_launch
[[ $# -ge 1 ]] || { sed -n '18,28p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
build=$1 keep=${2:-}
bin=$(cd "$build" 2>/dev/null && pwd)/bin/salient
[[ -x $bin ]] || { echo "vcluster_net.sh: $build/bin/salient not found; build first" >&2; exit 2; }
rates=${RATES:-1gbit 10gbit} nodes=${NODES:-2 4} sizes=${SIZES:-16 20 22}
densities=${DENSITIES:-0.01 0.1 1} reps=${REPS:-9} reps_big=${REPS_BIG:-5} warmup=${WARMUP:-2}
min_time=${MIN_TIME:-0}
train_rate=${TRAIN_RATE:-100mbit} rounds=${ROUNDS:-10} do_train=${TRAIN:-1}
name=${VC_NAME:-vnet}
vc=$root/jobs/vcluster/vcluster
cfg=$root/jobs/configs/ssfl-fmnist.ini

if [[ -n $keep ]]; then mkdir -p "$keep" && o=$(cd "$keep" && pwd) || exit 2; else o=$(mktemp -d); fi
vcdir=$(mktemp -d /tmp/vcluster-net.XXXXXX)
chmod o+x "$vcdir"
cleanup() {
  "$vc" down --dir "$vcdir/vc" >/dev/null 2>&1
  rm -rf "$vcdir"
  [[ -z $keep ]] && rm -rf "$o"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# the ranks share 2 cores: idle ranks yield instead of busy-polling; one BLAS thread per rank
export OPENBLAS_NUM_THREADS=1 OMPI_MCA_mpi_yield_when_idle=1
[[ $(id -u) == 0 ]] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

t_start=$(date +%s)
echo "# salient across nodes on the virtual cluster (jobs/vcluster/vcluster): one rank per node,"
echo "# Open MPI over TCP through veth links shaped by tbf (both directions, per node)"
vc_header "$root"
vc_load "start"

# 5 nodes for the training runs (server + 4 clients), more if NODES asks for them
maxn=5
for P in $nodes; do ((P > maxn)) && maxn=$P; done
vc_up vcluster_net.sh "$o/up.err" "$vc" --name "$name" --dir "$vcdir/vc" --nodes "$maxn" --rate "${rates%% *}"

# Launches go through vc_launch (benchmarks/lib/vcluster.sh): up to 3 tries, each retry reported,
# around Open MPI 4.1.4's rare SIGSEGV in MPI_Init over TCP; -K (--kill-on-bad-exit) ends the
# step then, instead of leaving the other ranks in their first collective forever.
srun_args=(--mpi=pmix --kill-on-bad-exit=1)

# auto's cost constants for P nodes: COST_FILE's "P=<P>:" line, else COST
cost_for() {
  local line=""
  [[ -n ${COST_FILE:-} ]] && line=$(sed -n "s/^P=$1: *//p" "$COST_FILE" | head -1)
  echo "${line:-${COST:-}}"
}
if [[ -n ${COST_FILE:-} ]]; then
  [[ -r $COST_FILE ]] || { echo "vcluster_net.sh: COST_FILE $COST_FILE not readable" >&2; exit 2; }
  echo "# auto's constants per node count ($COST_FILE):"; sed -n 's/^P=/#   P=/p' "$COST_FILE"
fi

# ---------------------------------------------------------------- 1. collectives
echo
echo "## 1. Collectives: srun -N P -n P --mpi=pmix salient bench allreduce --n N --density D"
echo "# median of REPS calls ($reps; $reps_big for n >= 2^22; more until the calls of all rows add up to"
echo "# $min_time s) after $warmup warm-up calls, slowest rank"
: >"$o/collectives.csv" # rate,algo,ranks,n,density,bytes,median_s,choice
for rate in $rates; do
  "$vc" rate --dir "$vcdir/vc" all "$rate" 2>/dev/null || { echo "vcluster_net.sh: cannot set $rate" >&2; exit 1; }
  vc_load "before the collectives at $rate"
  for P in $nodes; do
    for e in $sizes; do
      n=$((1 << e)) r=$reps
      ((e >= 22)) && r=$reps_big
      for d in $densities; do
        vc_launch "$rate P=$P n=$n d=$d" 300 "$o/r.csv" "$o/r.err" srun -N "$P" -n "$P" -w "node[1-$P]" \
          "${srun_args[@]}" "$bin" bench allreduce --n "$n" --density "$d" --reps "$r" --warmup "$warmup" \
          --min-time "$min_time" $(cost_for "$P") || exit 1
        choice=$(sed -n 's/.*auto chose \([a-z_]*\).*/\1/p' "$o/r.err")
        tail -n +2 "$o/r.csv" | sed "s/^/$rate,/; s/\$/,$choice/" >>"$o/collectives.csv"
      done
    done
  done
done
vc_load "after the collectives"

for rate in $rates; do
  bits=$(vc_rate_bits "$rate")
  echo
  echo "### links at $rate: every algorithm (ms; bound = wire bytes x 8 / $bits b/s; frac = bound / time)"
  echo "# wire bytes: dense, masked, masked_idx 2(P-1)/P x bytes (ring allreduce); allgather (P-1) x bytes;"
  echo "# ring, recdbl bytes (the sum of their messages). frac > 1: the message fit in tbf's burst (2 ms of the"
  echo "# rate, >= 32 KiB: 250 KB at 1 Gb/s), which passes at unshaped speed"
  awk -F, -v R="$rate" -v bits="$bits" '
  function wire(a, P, b) {   # bytes one rank must move through its link, the least
    if (a == "dense" || a == "masked" || a == "masked_idx") return 2 * (P - 1) / P * b  # ring allreduce
    if (a == "ring") return b                    # it counts its own messages: 2(P-1)/P x 4n
    if (a == "allgather") return (P - 1) * b     # its own set to each of P-1 peers (or a ring)
    return b                                     # recdbl: the sum of what it sends per step
  }
  $1 == R {
    if (!hdr++) printf "%2s %8s %5s | %-10s %10s %12s %12s %10s %6s\n", "P", "n", "dens", "algo",
                       "time_ms", "bytes", "wire_bytes", "bound_ms", "frac"
    a = $2; if (a == "auto") a = ($8 == "" ? "dense" : $8)
    w = wire(a, $3, $6); bound = w * 8 / bits * 1e3; t = $7 * 1e3
    name = $2; if ($2 == "auto") name = "auto:" $8
    printf "%2d %8d %5g | %-10s %10.3f %12d %12.0f %10.3f %6.2f\n", $3, $4, $5, name, t, $6, w, bound, bound / t
  }' "$o/collectives.csv"
done

echo
echo "### summary (ms): auto's choice, the fastest of dense/ring/allgather/recdbl, ratios to dense"
printf "%-6s %2s %8s %5s | %9s %9s %9s %9s %9s %9s %9s | %-9s %-9s %8s %8s %8s %8s\n" rate P n dens dense \
  ring masked masked_ix allgather recdbl auto chose fastest auto/best mask/D best/D ring/D
awk -F, '
{ key = $1 SUBSEP $3 SUBSEP $4 SUBSEP $5; t[key, $2] = $7 * 1e3; ch[key] = $8
  if (!(key in seen)) { seen[key] = 1; order[++m] = key } }
END {
  for (i = 1; i <= m; i++) {
    key = order[i]; split(key, k, SUBSEP)
    D = t[key, "dense"]; best = D; bn = "dense"
    if (t[key, "ring"] < best) { best = t[key, "ring"]; bn = "ring" }
    if (t[key, "allgather"] < best) { best = t[key, "allgather"]; bn = "allgather" }
    if (t[key, "recdbl"] < best) { best = t[key, "recdbl"]; bn = "recdbl" }
    sp = t[key, "allgather"] < t[key, "recdbl"] ? t[key, "allgather"] : t[key, "recdbl"]
    printf "%-6s %2d %8d %5g | %9.3f %9.3f %9.3f %9.3f %9.3f %9.3f %9.3f | %-9s %-9s %8.2f %8.3f %8.3f %8.3f\n",
      k[1], k[2], k[3], k[4], D, t[key, "ring"], t[key, "masked"], t[key, "masked_idx"], t[key, "allgather"],
      t[key, "recdbl"], t[key, "auto"], ch[key], bn, t[key, "auto"] / best, t[key, "masked"] / D, sp / D,
      t[key, "ring"] / D
  }
}' "$o/collectives.csv"
echo "# mask/D = masked / dense; best/D = min(allgather, recdbl) / dense; auto/best = auto /"
echo "# min(dense, ring, allgather, recdbl) (auto chooses among those four by its cost model);"
echo "# ring/D = our pipelined ring / MPI_Allreduce (both dense sums of n floats)"

echo
echo "### targets"
awk -F, '
function bits(r,   m, u, f) { m = r; sub(/[a-z]+$/, "", m); u = substr(r, length(m) + 1)
  f["bit"] = 1; f["kbit"] = 1e3; f["mbit"] = 1e6; f["gbit"] = 1e9; f["tbit"] = 1e12
  f["bps"] = 8; f["kbps"] = 8e3; f["mbps"] = 8e6; f["gbps"] = 8e9; if (u == "") u = "bit"; return m * f[u] }
{ key = $1 SUBSEP $3 SUBSEP $4 SUBSEP $5; t[key, $2] = $7; ch[key] = $8
  if ($2 == "ring") rb[key] = $6
  if (!(key in seen)) { seen[key] = 1; order[++m] = key } }
END {
  n1 = n1ok = 0; worst = 0; nring = 0
  for (i = 1; i <= m; i++) {
    key = order[i]; split(key, k, SUBSEP); D = t[key, "dense"]
    if (k[4] == 0.1) {
      r = t[key, "masked"] / D; ri = t[key, "masked_idx"] / D
      printf "masked at density 0.1 <= 0.15 x dense: %-6s P=%d n=2^%d: masked %.3f, masked_idx %.3f x dense: %s\n",
        k[1], k[2], log(k[3]) / log(2) + 0.5, r, ri, (r <= 0.15 ? "met" : (ri <= 0.15 ? "met by masked_idx only" : "NOT met"))
    }
    best = D; bn = "dense"
    if (t[key, "ring"] < best) { best = t[key, "ring"]; bn = "ring" }
    if (t[key, "allgather"] < best) { best = t[key, "allgather"]; bn = "allgather" }
    if (t[key, "recdbl"] < best) { best = t[key, "recdbl"]; bn = "recdbl" }
    npts++; if (ch[key] == bn) right++
    if (t[key, "auto"] <= 1.1 * best) within++
    else miss = miss sprintf("\n  auto/best %.2f at %s P=%d n=2^%d d=%g: chose %s (its own row %.2f x best), fastest %s (%.3f ms)",
      t[key, "auto"] / best, k[1], k[2], log(k[3]) / log(2) + 0.5, k[4], ch[key], t[key, ch[key]] / best, bn, best * 1e3)
    if (t[key, ch[key]] <= 1.1 * best) cwithin++
    if (t[key, "auto"] / best > worst) { worst = t[key, "auto"] / best; wk = key }
    if (k[1] == "1gbit" && k[2] == 4 && k[3] == 4194304 && k[4] == 0.01) tk = key
    if (k[1] == "1gbit" && k[3] == 16777216 && k[4] == 1 && (k[2] == 2 || k[2] == 4) && ((key, "ring") in t)) {
      f = rb[key] * 8 / bits(k[1]) / t[key, "ring"]; nring++
      printf "ring >= 0.8 of the link bound at 2^24 floats, %d nodes, 1 Gb/s: ring %.1f ms, bound %.1f ms: %.2f (dense %.2f): %s\n",
        k[2], t[key, "ring"] * 1e3, rb[key] * 8 / bits(k[1]) * 1e3, f, rb[key] * 8 / bits(k[1]) / t[key, "dense"], (f >= 0.8 ? "met" : "NOT met")
    }
  }
  if (!nring) print "ring at 2^24 floats, 2 and 4 nodes, 1 Gb/s: point not in this sweep (SIZES=24 DENSITIES=1)"
  if (tk != "") {
    D = t[tk, "dense"]; s = "allgather"; if (t[tk, "recdbl"] < t[tk, s]) s = "recdbl"
    printf "best sparse at 1%%, 2^22 floats, 4 nodes, 1 Gb/s >= 20x faster than dense: dense %.1f ms, %s %.1f ms: %.1fx: %s (masked %.1f ms: %.1fx)\n",
      D * 1e3, s, t[tk, s] * 1e3, D / t[tk, s], (D / t[tk, s] >= 20 ? "met" : "NOT met"), t[tk, "masked"] * 1e3, D / t[tk, "masked"]
  } else print "best sparse at 1%, 2^22, 4 nodes, 1 Gb/s: point not in this sweep"
  split(wk, k, SUBSEP)
  printf "auto picks the fastest of dense/ring/allgather/recdbl at %d of %d points; the chosen algorithm'"'"'s own row is within 10%% of the fastest at %d; the auto row at %d (it runs the same algorithm: the gap is run-to-run noise); worst auto/best %.2f (%s P=%d n=%d d=%g, chose %s)\n",
    right, npts, cwithin, within, worst, k[1], k[2], k[3], k[4], ch[wk]
  if (miss != "") print "auto above 1.10 x the fastest:" miss
}' "$o/collectives.csv"

# ---------------------------------------------------------------- 2. SSFL vs dense FedAvg
if [[ $do_train == 1 ]]; then
  echo
  echo "## 2. SSFL vs dense FedAvg: lenet5, Fashion-MNIST ($(basename "$cfg")), $rounds rounds"
  echo "# server + 4 client nodes (srun -N5 -n5 --mpi=pmix) with every link at $train_rate; then the"
  echo "# same runs under mpirun -np 5 on this machine (shared memory, no shaping)"
  dense=(--set sparsity.method=none --set sparsity.density=1)
  common=(--set run.rounds="$rounds")
  "$vc" rate --dir "$vcdir/vc" all "$train_rate" 2>/dev/null || { echo "vcluster_net.sh: cannot set $train_rate" >&2; exit 1; }
  vc_load "before training on the cluster"
  # --force: a rerun with the same KEEP directory replaces the runs it made there before
  for m in ssfl dense; do
    extra=(); [[ $m == dense ]] && extra=("${dense[@]}")
    VC_RETRY_CLEAN=$o/$m-vc vc_launch "$m on 5 nodes" 600 "$o/$m-vc.out" "$o/$m-vc.log" srun -N5 -n5 \
      "${srun_args[@]}" "$bin" train "$cfg" "${common[@]}" "${extra[@]}" --out "$o/$m-vc" --force || exit 1
  done
  "$vc" down --dir "$vcdir/vc" >/dev/null 2>&1
  # back to this machine's plain Open MPI settings
  unset OMPI_MCA_btl OMPI_MCA_btl_tcp_if_include OMPI_MCA_oob_tcp_if_include OMPI_MCA_routed
  vc_load "before training on one node"
  for m in ssfl dense; do
    extra=(); [[ $m == dense ]] && extra=("${dense[@]}")
    VC_RETRY_CLEAN=$o/$m-local vc_launch "$m on one node" 600 "$o/$m-local.out" "$o/$m-local.log" \
      mpirun --oversubscribe -np 5 "$bin" train "$cfg" "${common[@]}" "${extra[@]}" --out "$o/$m-local" --force || exit 1
  done
  vc_load "after training"

  tbits=$(vc_rate_bits "$train_rate")
  # per run: means over rounds >= 1 of comm_s, wait_s, compute_s, wall_s; bytes per round;
  # the server link's bound per round ((up + down) x 8 / rate: every upload enters and every
  # download leaves through the server's one link, in separate phases); final accuracy
  stats() {
    local acc
    acc=$(sed -n 's/.*"final_test_acc": *\([0-9.eE+-]*\).*/\1/p' "$1/summary.json")
    awk -F, -v bits="$2" -v acc="$acc" '
      NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
      $1 >= 1 { r++; cm += $c["comm_s"]; wt += $c["wait_s"]; cp += $c["compute_s"]; wl += $c["wall_s"]
                by += $c["bytes_up"] + $c["bytes_down"]; tot += $c["wall_s"] }
      $1 == 0 { w0 = $c["wall_s"] }
      END { printf "%d %.6f %.6f %.6f %.6f %.0f %.6f %.6f %.6f %s\n", r, cm / r, wt / r, cp / r, wl / r,
            by / r, (bits > 0 ? by / r * 8 / bits : 0), w0, tot + w0, acc }' "$1/metrics.csv"
  }
  printf "%-6s %-20s %6s %11s %9s %9s %9s %9s %10s %9s %9s %8s\n" run where rounds bytes/round link_ms \
    comm_ms wait_ms compute_ms round_ms round0_s total_s acc
  for place in vc local; do
    for m in ssfl dense; do
      b=$tbits where="5 nodes @ $train_rate"
      [[ $place == local ]] && b=0 where="1 node, mpirun -np 5"
      read -r R cm wt cp wl by lb w0 tot acc < <(stats "$o/$m-$place" "$b")
      eval "S_${m}_${place}=(\$cm \$wl \$acc \$cp \$tot \$by)"
      printf "%-6s %-20s %6d %11.0f %9s %9.2f %9.2f %9.2f %10.2f %9.2f %9.2f %8.4f\n" "$m" "$where" "$R" "$by" \
        "$([[ $place == vc ]] && awk -v x="$lb" 'BEGIN { printf "%.1f", x * 1e3 }' || echo -)" \
        "$(awk -v x="$cm" 'BEGIN { print x * 1e3 }')" "$(awk -v x="$wt" 'BEGIN { print x * 1e3 }')" \
        "$(awk -v x="$cp" 'BEGIN { print x * 1e3 }')" "$(awk -v x="$wl" 'BEGIN { print x * 1e3 }')" "$w0" "$tot" "$acc"
    done
  done
  echo "# means over rounds 1..$rounds (round 0, the mask exchange, apart: round0_s); link_ms = bytes/round x 8 /"
  echo "# $train_rate, the least time the server's link needs per round; comm_ms, wait_ms, compute_ms, round_ms:"
  echo "# metrics.csv's comm_s, wait_s, compute_s, wall_s; total_s = sum of wall_s over rounds 0..$rounds; acc = final_test_acc"
  echo "# comm_s is the client ranks' time in sends and in receives after arrival: a message under Open MPI's"
  echo "# TCP eager limit ($(ompi_info --param btl tcp --level 9 2>/dev/null | sed -n 's/.*"btl_tcp_eager_limit" (current value: "\([0-9]*\)".*/\1/p') B; SSFL's uploads are ~25 KB, dense ones ~247 KB) is handed to the kernel and"
  echo "# its send returns at once, so comm_s leaves out its time on the wire; link_ms and round_ms do not"
  # shellcheck disable=SC2154
  awk -v sc="${S_ssfl_vc[0]}" -v dc="${S_dense_vc[0]}" -v sw="${S_ssfl_vc[1]}" -v dw="${S_dense_vc[1]}" \
      -v scp="${S_ssfl_vc[3]}" -v dcp="${S_dense_vc[3]}" -v st="${S_ssfl_vc[4]}" -v dt="${S_dense_vc[4]}" \
      -v sb="${S_ssfl_vc[5]}" -v db="${S_dense_vc[5]}" \
      -v lsc="${S_ssfl_local[0]}" -v ldc="${S_dense_local[0]}" -v lsw="${S_ssfl_local[1]}" -v ldw="${S_dense_local[1]}" 'BEGIN {
    printf "SSFL / dense at %s: comm_s %.3f (target <= 0.15: %s), round wall_s %.3f, round wall_s minus compute_s %.3f, total_s %.3f; bytes %.3f\n", "'"$train_rate"'",
      sc / dc, (sc / dc <= 0.15 ? "met" : "NOT met"), sw / dw, (sw - scp) / (dw - dcp), st / dt, sb / db
    printf "SSFL / dense on one node (no shaping): comm_s %.3f, round wall_s %.3f\n", lsc / ldc, lsw / ldw }'
  for m in ssfl dense; do
    if cmp -s <(cut -d, -f1-7,12 "$o/$m-vc/metrics.csv") <(cut -d, -f1-7,12 "$o/$m-local/metrics.csv"); then
      eq="bitwise equal"
    else eq="DIFFER"; fi
    a1=$(eval "echo \${S_${m}_vc[2]}") a2=$(eval "echo \${S_${m}_local[2]}")
    printf "%s: metrics.csv columns 1-7,12 on 5 nodes vs one node: %s; final_test_acc %.4f vs %.4f\n" "$m" "$eq" "$a1" "$a2"
  done
fi

echo
echo "# launches retried (a rank's SIGSEGV in MPI_Init or a hang, see vc_launch in benchmarks/lib/vcluster.sh): $VC_RETRIES"
vc_load "end"
echo "# total time of this script: $(($(date +%s) - t_start)) s"
exit 0
