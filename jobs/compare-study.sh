#!/usr/bin/env bash
# compare-study.sh - submit a `salient compare` study to Slurm: a job array with one task per
# point of the study (jobs/study.sbatch: salient compare ... --point K, every seed of point K;
# a requeued task keeps its finished runs), then a gather job (afterany) that writes
# DIR/summary.csv, runs.csv, compare.csv (salient compare --gather) and the figures
# (scripts/plot-compare). The study is salient compare's own (salient compare --help): this
# script only numbers its points (salient compare --list) and submits them. Run it on the
# login node, from anywhere.
#
#   jobs/compare-study.sh [--ntasks P] [--nodes N] [--time T] [--name NAME] [--sbatch "OPTS"]
#                         [--out DIR] [--test-only] CONFIG.ini [--algorithms LIST]
#                         [--vary section.key=V1,V2,...]... [--densities "1 0.1" [--method M]]
#                         [--seeds N] [--target ACC] [--set section.key=value]...
#   jobs/compare-study.sh --help
#
#   --algorithms LIST    salient compare's list (default allreduce,localsgd,dpsgd:ring,
#                        dpsgd:exponential): allreduce[:none|mask|topk], localsgd, dpsgd,
#                        dpsgd:GRAPH (see salient topo --help), fedavg (rank 0 serves; P >= 2),
#                        centralized (the single-worker baseline)
#   --vary k=V1,V2       a grid axis (salient compare --help); --seeds N, --target ACC and
#                        --set k=v are passed to salient compare as they are
#   --densities "1 0.1"  shorthand for the centralized-vs-decentralized density study:
#                        --vary sparsity.method=none,M --vary sparsity.density=1,0.1 (M: the
#                        --method, default snip), with allreduce sending only the mask's
#                        entries (allreduce:mask; the dense allreduce at the dense point);
#                        localsgd, dpsgd and fedavg send the masked model. A mask at density 1
#                        keeps every weight: its rows show what the mask exchange costs.
#   --ntasks P           MPI ranks of each task (default 4; sbatch -n P)
#   --nodes N            nodes of each task (sbatch -N N; default: Slurm's choice)
#   --time T             time limit of each array task (sbatch -t)
#   --name NAME          job name (default study): array NAME, gather NAME-gather
#   --sbatch "OPTS"      extra sbatch options for every job, e.g. "-p batch -A proj"
#   --out DIR            results (default runs/study-<config name>-<date-time>); must not
#                        exist or be empty
#   --test-only          check everything and ask Slurm (sbatch --test-only) whether the jobs
#                        could run; nothing is queued and nothing is written
#
# Checks before submitting: the salient binary (SALIENT_BIN, else salient on PATH, else
# build/bin/salient of this repository), and the study itself (salient compare --list checks
# the config, every --vary value and every algorithm name). A point that cannot run on P ranks
# is skipped by its task with a note, as salient compare skips it.
#
# Results: DIR/ALGO[/KEY=V,...][/seedS]/ per run, DIR/summary.csv, runs.csv, compare.csv,
# the figures (accuracy_round.png, accuracy_bytes.png, accuracy_time.png, final_accuracy.png),
# DIR/slurm-<array id>_<K>.out per point and DIR/slurm-gather-<id>.out. The gather job runs
# after every task (afterany) and tabulates what finished; rerun it by hand with
# `jobs/study.sbatch --gather ARGS` (the array's arguments).
set -uo pipefail

JL_PROG=compare-study.sh
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
# shellcheck source=jobs/lib/common.sh
. "$here/lib/common.sh"

usage() { sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }

ntasks=4 nodes="" time_limit="" name=study extra="" out="" test=0 cfg=""
algos="" densities="" method=""
cargs=()
while (($#)); do
  case $1 in
    -h | --help) usage; exit 0 ;;
    --ntasks | --nodes | --time | --name | --sbatch | --out | --algorithms | --densities | --method)
      (($# >= 2)) || jl_die "$1 needs a value (see --help)"
      case $1 in
        --ntasks) ntasks=$2 ;; --nodes) nodes=$2 ;; --time) time_limit=$2 ;;
        --name) name=$2 ;; --sbatch) extra=$2 ;; --out) out=$2 ;;
        --algorithms) algos=$2 ;; --densities) densities=$2 ;; --method) method=$2 ;;
      esac
      shift 2 ;;
    --test-only) test=1; shift ;;
    --vary | --seeds | --target | --set)
      (($# >= 2)) || jl_die "$1 needs a value (see --help)"
      cargs+=("$1" "$2"); shift 2 ;;
    -*) jl_die "unknown option '$1' (see --help)" ;;
    *) [[ -z $cfg ]] || jl_die "one CONFIG.ini only ('$cfg', then '$1')"
       [[ -e $1 ]] || jl_die "config '$1' not found (paths are relative to $PWD)"
       cfg=$(jl_abspath "$1"); shift ;;
  esac
done
[[ -n $cfg ]] || { usage >&2; exit 2; }
jl_is_int "$ntasks" || jl_die "--ntasks '$ntasks': a positive integer"
[[ -z $nodes ]] || jl_is_int "$nodes" || jl_die "--nodes '$nodes': a positive integer"
[[ -z $nodes ]] || ((nodes <= ntasks)) || jl_die "--nodes $nodes is more than --ntasks $ntasks"
[[ -z $time_limit ]] || jl_is_time "$time_limit" || jl_die "--time '$time_limit': HH:MM:SS, MM:SS, MM or D-HH:MM:SS"
[[ $name =~ ^[A-Za-z0-9._-]+$ ]] || jl_die "--name '$name': letters, digits, . _ - only"
[[ -z $method || -n $densities ]] || jl_die "--method picks the mask of --densities: give --densities too"
algos=${algos:-allreduce,localsgd,dpsgd:ring,dpsgd:exponential}

# --densities D...: the density study as a grid (dense at 1, a --method mask below 1)
if [[ -n $densities ]]; then
  for a in "${cargs[@]}"; do
    [[ $a =~ ^sparsity\.(method|density)= ]] && jl_die "'$a' and --densities set the same key: give one of them"
  done
  dense=0 sparse=0 dlist=""
  for D in $densities; do
    jl_is_num "$D" && awk -v d="$D" 'BEGIN { exit !(d > 0 && d <= 1) }' ||
      jl_die "--densities '$densities': numbers in (0, 1], e.g. \"1 0.1\""
    if awk -v d="$D" 'BEGIN { exit !(d + 0 == 1) }'; then dense=1; else sparse=1; fi
    IFS=, read -r -a prev <<<"$dlist"
    for E in "${prev[@]}"; do
      awk -v a="$D" -v b="$E" 'BEGIN { exit !(a + 0 == b + 0) }' && jl_die "--densities: $D given twice"
    done
    dlist+=${dlist:+,}$D
  done
  [[ -n $dlist ]] || jl_die "--densities is empty"
  method=${method:-snip}
  if ((dense && sparse)); then cargs+=(--vary "sparsity.method=none,$method")
  elif ((sparse)); then cargs+=(--set "sparsity.method=$method")
  else cargs+=(--set sparsity.method=none); fi
  cargs+=(--vary "sparsity.density=$dlist")
  # allreduce sends the mask's entries where there is a mask (salient compare: allreduce:mask)
  ((sparse)) && algos=$(printf '%s' "$algos" | sed -E 's/(^|,)allreduce(,|$)/\1allreduce:mask\2/')
fi

bin=$(jl_find_bin "$repo")
[[ -x $bin ]] || jl_die "no salient binary at '$bin': build it (cmake --build build) or set SALIENT_BIN"
command -v sbatch >/dev/null || jl_die "sbatch not found: run this on a Slurm login node"
read -r -a xopts <<<"$extra"
out=${out:-runs/study-$(basename "$cfg" .ini)-$(date +%Y%m%d-%H%M%S)}
out=$(jl_abspath "$out")
out=${out%/}
jl_check_outdir "$out"
cargs=("$cfg" --algorithms "$algos" "${cargs[@]}")
# the points, numbered by salient compare itself (which checks the config and every value)
points=$("$bin" compare "${cargs[@]}" --out "$out" --list) || jl_die "salient compare refused the study (above); nothing submitted"
n=$(printf '%s\n' "$points" | grep -c .)
export SALIENT_BIN=$bin SALIENT_REPO=$repo
res=(-n "$ntasks")
[[ -n $nodes ]] && res=(-N "$nodes" -n "$ntasks")
[[ -n $time_limit ]] && res+=(-t "$time_limit")
((test)) || mkdir -p "$out" || jl_die "cannot create $out"
aid=$(jl_sbatch "$test" -J "$name" --array="1-$n" --output "$out/slurm-%A_%a.out" "${res[@]}" "${xopts[@]}" \
  "$here/study.sbatch" "${cargs[@]}" --out "$out") || jl_die "sbatch refused the array job; nothing is queued"
dep=()
((test)) || dep=("--dependency=afterany:$aid")
gid=$(jl_sbatch "$test" -J "$name-gather" -N 1 -n 1 -t 00:15:00 --output "$out/slurm-gather-%j.out" \
  "${dep[@]}" "${xopts[@]}" "$here/study.sbatch" --gather "${cargs[@]}" --out "$out") || {
  ((test)) || jl_cancel "$aid"
  jl_die "sbatch refused the gather job; nothing of this study is queued"
}
echo "$JL_PROG: array job $aid (${res[*]}), one task per point ($n):"
printf '%s\n' "$points" | sed "s/^\([0-9]*\)\t/$JL_PROG:   task ${aid}_\1: /"
echo "$JL_PROG: gather: job $gid (afterany:$aid): $out/summary.csv, runs.csv, compare.csv and the figures"
((test)) && echo "$JL_PROG: --test-only: no job was queued"
exit 0
