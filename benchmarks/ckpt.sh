#!/usr/bin/env bash
# ckpt.sh - checkpoint write/read throughput (ckpt_io: a 10M-parameter model, the state a
# decentralized run writes: model + mask + every rank's weights and momentum rows) on 1, 2 and
# 4 ranks, against the raw write bandwidth of the same file system measured in the same run
# (dd conv=fdatasync of a file the checkpoint's size); then the cost of checkpointing every
# round for lenet5 (centralized, and fedavg SSFL on 3 ranks) as a percentage of round time.
# usage: benchmarks/ckpt.sh [build=build] [dir=runs/ckpt-bench]
#   dir: scratch directory on the file system under test (removed at the end)
#   env: N=10000000 REPS=5 RANKS="1 2 4" ROUNDS=3 FED_ROUNDS=4 DROP_CACHES=0 (1: reads after
#        /proc/sys/vm/drop_caches instead of posix_fadvise DONTNEED on the file; needs root)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build} dir=${2:-runs/ckpt-bench}
N=${N:-10000000} REPS=${REPS:-5} RANKS=${RANKS:-"1 2 4"} ROUNDS=${ROUNDS:-3}
FED_ROUNDS=${FED_ROUNDS:-4} DROP_CACHES=${DROP_CACHES:-0}
export LC_ALL=C OPENBLAS_NUM_THREADS=1 OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_mpi_yield_when_idle=1
[[ $(id -u) == 0 ]] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mkdir -p "$dir"
trap 'rm -rf "$dir"' EXIT
drop=() && ((DROP_CACHES)) && drop=(--drop-caches)
cores=$(nproc) crc_shown=0

median() { sort -g | awk '{v[NR] = $1} END {if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# dd of `bytes` rounded up to MiB, fdatasync'ed; median of 3, in GB/s (1e9 bytes)
dd_gbs() {
  local mib=$((($1 + 1048575) / 1048576))
  for _ in 1 2 3; do
    dd if=/dev/zero of="$dir/dd.tmp" bs=1M count="$mib" conv=fdatasync 2>&1 | tail -1 |
      sed -nE 's/^([0-9]+) bytes .* copied, ([0-9.e+-]+) s,.*/\1 \2/p' | awk '{print $1 / $2 / 1e9}'
    rm -f "$dir/dd.tmp"
    sync -f "$dir" 2>/dev/null || true
  done | median
}

echo "# $(date -u +%F): benchmarks/ckpt.sh $build $dir (N=$N REPS=$REPS RANKS=\"$RANKS\" ROUNDS=$ROUNDS FED_ROUNDS=$FED_ROUNDS)"
echo "# checkpoint I/O: sal_ckpt_save / sal_ckpt_load of $N parameters, median of $REPS after a warm-up"
echo "# machine: $(lscpu | sed -n 's/^Model name: *//p'), $cores cores; Open MPI $(mpirun --version | sed -n 's/.*(Open MPI) //p');" \
  "HDF5 $(dpkg-query -W -f '${Version}' libhdf5-openmpi-dev 2>/dev/null || echo '?');" \
  "file system: $(df -T "$dir" | awk 'NR == 2 {print $2, $1}')"
echo "# write = collective save incl. fsync, GB/s = file bytes / time; read = every rank loads mask + model +"
echo "# its two rows after the file's pages were evicted (resident fraction checked); read_delivered counts"
echo "# the bytes the ranks received (the model once per rank). dd: same size, conv=fdatasync, median of 3;"
echo "# %dd = GB/s / dd write GB/s (for reads too: dd measures writes only). raw_write: ckpt_io itself writes"
echo "# the file's size with 1 MiB write()s + fdatasync after every checkpoint rep (a dd interleaved with the"
echo "# reps: the disk here is shared and its speed drifts); '# write / raw_write' is the paired median ratio."
echo "# fcoll=individual: the same run with OMPI_MCA_fcoll=individual (no two-phase aggregation in OMPIO)."
echo "# malloc-default: glibc's malloc policy (fresh mmaps for large buffers) instead of salient's reuse."
printf "%-36s %5s %10s %10s %9s %8s %8s %7s\n" op ranks n file_MB median_s GB/s dd_GB/s %dd
run_io() { # label P [env...] -- [ckpt_io args]
  local label=$1 P=$2
  shift 2
  local envs=()
  while [[ $1 != -- ]]; do envs+=("$1"); shift; done
  shift
  local out
  out=$(env "${envs[@]}" mpirun -np "$P" "$build/bin/ckpt_io" --n "$N" --reps "$REPS" --dir "$dir/io" "${drop[@]}" "$@")
  grep '^#' <<<"$out" | sed 's/^# /#   /' | { ((crc_shown)) && grep -v crc32 || cat; } || true
  crc_shown=1
  local bytes ddg
  bytes=$(awk -F, '$1 ~ /^write/ {print $4}' <<<"$out")
  ddg=$(dd_gbs "$bytes")
  awk -F, -v dd="$ddg" -v lab="$label" '/^(write|read|raw_write)/ {
      printf "%-36s %5d %10d %10.1f %9.4f %8.3f %8.3f %7.1f\n", $1 lab, $2, $3, $4 / 1e6, $5, $6, dd,
             100 * $6 / dd }' <<<"$out"
}
for P in $RANKS; do
  if ((P > cores)); then echo "# CAVEAT: $P ranks > $cores cores: oversubscribed"; fi
  run_io "" "$P" --
done
for P in $RANKS; do run_io " fcoll=individual" "$P" OMPI_MCA_fcoll=individual --; done
for P in $RANKS; do if ((P > 1)); then run_io " (n/P per rank)" "$P" -- --split; fi; done
# glibc's own malloc policy (salient keeps freed memory for reuse: include/salient/memory.h)
for P in $RANKS; do run_io " malloc-default" "$P" -- --malloc-default; done

# --- checkpoint every round: lenet5 ---
# Progress lines on stderr are stamped as they arrive: a checkpoint's time is from the round's
# line (printed just before the save) to "salient: checkpoint PATH" (printed just after it).
stamp() { while IFS= read -r l; do echo "$EPOCHREALTIME $l"; done; }
ckpt_times() { awk '$2 == "round" {t = $1} $2 == "salient:" && $3 == "checkpoint" {print $1 - t}' "$1"; }
round_wall() { # metrics.csv -> median wall_s of rounds >= 1
  awk -F, 'NR == 1 {for (i = 1; i <= NF; i++) if ($i == "wall_s") c = i; next} $1 >= 1 {print $c}' "$1" | median
}
train() { # tag every [mpirun -np K] -- extra sets; prints the total wall time
  local tag=$1 every=$2
  shift 2
  local pre=()
  while [[ $1 != -- ]]; do pre+=("$1"); shift; done
  shift
  local t0=$EPOCHREALTIME
  "${pre[@]}" "$build/bin/salient" train "$@" --set checkpoint.every="$every" \
    --set run.out="$dir/$tag" 2>&1 | stamp >"$dir/$tag.log"
  awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {print b - a}'
}
echo
echo "# checkpoint every round, lenet5 on Fashion-MNIST (61,706 parameters); ckpt_ms = median save time"
echo "# from the stamped progress lines; round_s = median metrics.csv wall_s (which excludes the save);"
echo "# diff_ms = (total wall, every=1 - every=0) / (checkpoints more), a noisier cross-check"
printf "%-44s %6s %8s %9s %8s %8s %9s\n" run rounds ckpt_KB ckpt_ms round_s cost_% diff_ms
w1=$(train c1 1 -- jobs/configs/lenet5-fmnist.ini --set run.rounds="$ROUNDS")
w0=$(train c0 0 -- jobs/configs/lenet5-fmnist.ini --set run.rounds="$ROUNDS")
ck=$(ckpt_times "$dir/c1.log" | median) rs=$(round_wall "$dir/c1/metrics.csv")
kb=$(stat -c %s "$(readlink -f "$dir/c1/ckpt/latest")")
awk -v ck="$ck" -v rs="$rs" -v kb="$kb" -v w1="$w1" -v w0="$w0" -v r="$ROUNDS" 'BEGIN {
  printf "%-44s %6d %8.0f %9.2f %8.3f %8.2f %9.1f\n", "centralized lenet5, 1 rank, batch 64", r, kb / 1e3,
         1e3 * ck, rs, 100 * ck / rs, 1e3 * (w1 - w0) / (r - 1) }'
w1=$(train f1 1 mpirun -np 3 -- jobs/configs/ssfl-fmnist.ini --set run.rounds="$FED_ROUNDS")
w0=$(train f0 0 mpirun -np 3 -- jobs/configs/ssfl-fmnist.ini --set run.rounds="$FED_ROUNDS")
ck=$(ckpt_times "$dir/f1.log" | median) rs=$(round_wall "$dir/f1/metrics.csv")
kb=$(stat -c %s "$(readlink -f "$dir/f1/ckpt/latest")")
awk -v ck="$ck" -v rs="$rs" -v kb="$kb" -v w1="$w1" -v w0="$w0" -v r="$FED_ROUNDS" -v c="$cores" 'BEGIN {
  printf "%-44s %6d %8.0f %9.2f %8.3f %8.2f %9.1f\n", "fedavg SSFL lenet5, 3 ranks" (c < 3 ? " (oversubscr.)" : ""), r,
         kb / 1e3, 1e3 * ck, rs, 100 * ck / rs, 1e3 * (w1 - w0) / (r - 1) }'
echo "# checkpoint times per save (ms): centralized $(ckpt_times "$dir/c1.log" | awk '{printf "%.1f ", 1e3 * $1}')| fedavg $(ckpt_times "$dir/f1.log" | awk '{printf "%.1f ", 1e3 * $1}')"
