#!/usr/bin/env bash
# allreduce.sh - which allreduce for sparse training? `salient bench allreduce` over vectors of
# 2^16..2^24 floats, densities 0.001..1 and P ranks; prints one table (median of the slowest
# rank, ms) and the ratios the targets need: masked / (density x dense), best sparse vs dense at
# 1% for 2^22 on 8 ranks, auto / best at every point, our ring beside MPI_Allreduce (ring/D);
# then pack+unpack GB/s beside memcpy.
# usage: benchmarks/allreduce.sh [build=build] ["ranks list"="2 4 8"]
#   env: SIZES="16 17 ... 24" (log2 n), DENSITIES="0.001 0.01 0.1 1", REPS=10, WARMUP=3,
#        MPIRUN_ARGS (e.g. "--bind-to core"), ALPHA/BETA/GAMMA/DELTA (cost model, seconds)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build} ranks=${2:-"2 4 8"}
sizes=${SIZES:-"16 17 18 19 20 21 22 23 24"} densities=${DENSITIES:-"0.001 0.01 0.1 1"}
reps=${REPS:-10} warmup=${WARMUP:-3}
bin="$build/bin/salient"
[[ -x $bin ]] || { echo "allreduce.sh: $bin not found; build first (cmake --build $build)" >&2; exit 2; }
export OPENBLAS_NUM_THREADS=1 OMPI_MCA_rmaps_base_oversubscribe=1
[[ $(id -u) == 0 ]] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
model=()
[[ -n ${ALPHA:-} ]] && model+=(--alpha "$ALPHA")
[[ -n ${BETA:-} ]] && model+=(--beta "$BETA")
[[ -n ${GAMMA:-} ]] && model+=(--gamma "$GAMMA")
[[ -n ${DELTA:-} ]] && model+=(--delta "$DELTA")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cores=$(nproc)

echo "# sum-allreduce of n floats, median of $reps (after $warmup warm-up) of the slowest rank's time, ms"
echo "# machine: $(lscpu | sed -n 's/^Model name: *//p'), $cores cores; Open MPI $(mpirun --version | sed -n 's/.*(Open MPI) //p'); one node, shared memory"
for P in $ranks; do
  if (( P > cores )); then
    echo "# CAVEAT: P = $P > $cores cores: ranks are oversubscribed (yield_when_idle on); times at P = $P measure time-sharing, not the algorithms"
  fi
done
# one CSV of every point: algo,ranks,n,density,bytes,median_s,choice
for P in $ranks; do
  (( P > cores )) && export OMPI_MCA_mpi_yield_when_idle=1 || unset OMPI_MCA_mpi_yield_when_idle
  for e in $sizes; do
    n=$((1 << e))
    for d in $densities; do
      mpirun ${MPIRUN_ARGS:-} -np "$P" "$bin" bench allreduce --n "$n" --density "$d" --reps "$reps" \
        --warmup "$warmup" "${model[@]}" >"$tmp/r.csv" 2>"$tmp/r.err" ||
        { echo "allreduce.sh: P=$P n=$n d=$d failed: $(tail -2 "$tmp/r.err")" >&2; exit 1; }
      choice=$(sed -n 's/.*auto chose \([a-z]*\).*/\1/p' "$tmp/r.err")
      tail -n +2 "$tmp/r.csv" | sed "s/\$/,$choice/" >>"$tmp/all.csv"
    done
  done
done

awk -F, '
{ key = $2 SUBSEP $3 SUBSEP $4; t[key, $1] = $6 * 1e3; b[key, $1] = $5; ch[key] = $7
  if (!(key in seen)) { seen[key] = 1; order[++m] = key } }
END {
  printf "%3s %9s %7s | %9s %9s %9s %9s %9s %9s %9s | %8s %8s %6s %9s\n", "P", "n", "density", "dense",
         "ring", "masked", "masked_ix", "allgather", "recdbl", "auto", "mask/d.D", "auto/best",
         "ring/D", "auto=";
  worst = 0
  for (i = 1; i <= m; i++) {
    split(order[i], k, SUBSEP); key = order[i]
    D = t[key, "dense"]; best = D
    if (t[key, "allgather"] < best) best = t[key, "allgather"]
    if (t[key, "recdbl"] < best) best = t[key, "recdbl"]
    r = t[key, "masked"] / (k[3] * D); ab = t[key, "auto"] / best
    if (ab > worst) { worst = ab; wkey = order[i] }
    printf "%3d %9d %7g | %9.3f %9.3f %9.3f %9.3f %9.3f %9.3f %9.3f | %8.2f %8.2f %6.2f %9s\n", k[1],
           k[2], k[3], D, t[key, "ring"], t[key, "masked"], t[key, "masked_idx"], t[key, "allgather"],
           t[key, "recdbl"], t[key, "auto"], r, ab, t[key, "ring"] / D, ch[key]
    if (k[1] == 8 && k[2] == 4194304 && k[3] == 0.01) target = key
  }
  print ""
  print "# mask/d.D = masked time / (density x dense time): 1 = the mask saves exactly its share"
  print "# auto/best = auto time / min(dense, allgather, recdbl) at the same point (1 = right choice, free)"
  print "# ring/D = salient'"'"'s pipelined ring / MPI_Allreduce (dense), both dense sums of n floats"
  if (m) { split(wkey, k, SUBSEP); printf "# worst auto/best: %.2f at P=%d n=%d density=%g\n", worst, k[1], k[2], k[3] }
  if (target != "") {
    D = t[target, "dense"]; s = "allgather"; if (t[target, "recdbl"] < t[target, s]) s = "recdbl"
    printf "# target point P=8 n=2^22 density 0.01: dense %.3f ms, best sparse %s %.3f ms: %.2fx faster than dense; masked %.3f ms (%.2fx)\n",
           D, s, t[target, s], D / t[target, s], t[target, "masked"], D / t[target, "masked"]
    printf "# bytes per rank there: dense %d, masked %d, allgather %d, recdbl %d\n", b[target, "dense"],
           b[target, "masked"], b[target, "allgather"], b[target, "recdbl"]
  } else {
    print "# (the target point P=8 n=2^22 density 0.01 was not in this sweep)"
  }
}' "$tmp/all.csv"

echo
echo "# pack + unpack on one rank (GB/s = bytes read + written / time), beside memcpy of n floats"
printf "%9s %7s | %12s %12s %12s | %10s %10s\n" n density "memcpy GB/s" "mask GB/s" "index GB/s" "mask/memcp" "index/memcp"
for e in $sizes; do
  n=$((1 << e))
  for d in $densities; do
    mpirun ${MPIRUN_ARGS:-} -np 1 "$bin" bench pack --n "$n" --density "$d" --reps "$reps" \
      --warmup "$warmup" >"$tmp/p.csv" 2>"$tmp/p.err" ||
      { echo "allreduce.sh: pack n=$n failed: $(tail -2 "$tmp/p.err")" >&2; exit 1; }
    awk -F, -v n="$n" -v d="$d" 'NR > 1 { g[$1] = $6; s[$1] = $5 }
      END { printf "%9d %7g | %12.2f %12.2f %12.2f | %10.2f %10.2f\n", n, d, g["memcpy"], g["mask"],
            g["index"], s["mask"] / s["memcpy"], s["index"] / s["memcpy"] }' "$tmp/p.csv"
  done
done
echo "# mask/memcp, index/memcp: pack+unpack time over the time of one memcpy of n floats"
