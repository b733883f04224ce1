#!/usr/bin/env bash
# compare-study.sh - submit the centralized-vs-decentralized study: a job array running
# `salient compare` once per density (jobs/compare.sbatch, one array task per density), then
# one jobs/gather.sbatch job (--dependency=afterok on the array) that writes DIR/study.csv and
# the plots. Run it on the login node, from anywhere.
#
#   jobs/compare-study.sh [--densities "1 0.1"] [--algorithms LIST] [--ntasks P] [--nodes N]
#                         [--method snip] [--target ACC] [--time HH:MM:SS] [--name NAME]
#                         [--sbatch "OPTS"] [--out DIR] [--test-only]
#                         CONFIG.ini [--set section.key=value]...
#   jobs/compare-study.sh [--ntasks P] [--nodes N] [--time T] [--name NAME] [--sbatch "OPTS"]
#                         [--out DIR] [--test-only] CONFIG.ini --algorithms LIST
#                         [--vary section.key=V1,V2,...]... [--seeds N] [--target ACC] [--set k=v]...
#   jobs/compare-study.sh --help
#
# With --vary or --seeds: salient compare's study (salient compare --help), one array task per
# point (jobs/study.sbatch: salient compare ... --point K, every seed of point K; a requeued
# task keeps its finished runs), then a gather job (afterany) that writes DIR/summary.csv,
# runs.csv, compare.csv (salient compare --gather) and the figures (scripts/plot-compare).
# salient compare --list numbers the points; a point that cannot run on P ranks is skipped by
# its task with a note. The rest of this help is the density study, without --vary:
#
#   --densities "1 0.1"  one array task per density D, each writing DIR/density-D/. D = 1 is
#                        dense ([sparsity] method = none); D < 1 trains and sends only a
#                        METHOD mask's entries at density D: allreduce the masked gradient
#                        ([comm] compress = mask), localsgd and dpsgd the masked model, fedavg
#                        the masked model (SSFL with snip). These keys are the study's: they
#                        win over the config and --set.
#   --algorithms LIST    salient compare's list (default allreduce,localsgd,dpsgd:ring,
#                        dpsgd:exponential): allreduce, localsgd, dpsgd (the config's graph),
#                        dpsgd:GRAPH (one entry per topology; see salient topo --help),
#                        fedavg (rank 0 serves; needs P >= 2), centralized (P = 1, dense only)
#   --ntasks P           MPI ranks of each task (default 4; sbatch -n P)
#   --nodes N            nodes of each task (sbatch -N N; default: Slurm's choice within
#                        compare.sbatch's #SBATCH --nodes=1)
#   --method M           the mask for D < 1 (default snip; random, erk, magnitude, grasp, synflow)
#   --target ACC         salient compare --target (rounds and bytes to reach ACC; default 0.8)
#   --time T             time limit of each array task (sbatch -t)
#   --name NAME          job name (default compare): array NAME, gather NAME-gather
#   --sbatch "OPTS"      extra sbatch options for every job, e.g. "-p batch -A proj"
#   --out DIR            results (default runs/compare-study-<config name>-<date-time>); must
#                        not exist or be empty
#   --test-only          check everything and ask Slurm (sbatch --test-only) whether the jobs
#                        could run; nothing is queued and nothing is written
#   --set k=v            passed to salient compare for every density
#
# Checks before submitting: the salient binary (SALIENT_BIN, else salient on PATH, else
# build/bin/salient of this repository), the config with every --set at every density
# (`salient data`), each algorithm name, each dpsgd graph on P ranks (`salient topo`), the
# rank count against the algorithms and [data] clients.
#
# Results: DIR/density-D/ (salient compare's compare.csv, summary.csv and one directory per
# algorithm; accuracy_round.png, accuracy_bytes.png), DIR/slurm-<array id>_<task>.out,
# DIR/study.ini, DIR/study.csv (density + summary.csv's columns), DIR/acc_vs_bytes.png,
# DIR/final_acc.png (see jobs/gather.sbatch --help). A failed task cancels the gather job;
# `jobs/gather.sbatch DIR` gathers the densities that finished, by hand.
set -uo pipefail

JL_PROG=compare-study.sh
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
# shellcheck source=jobs/lib/common.sh
. "$here/lib/common.sh"
. "$here/lib/compare.sh"

usage() { sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }

# --- a grid study (--vary, --seeds): salient compare's own study, one array task per point ---
grid=0
for a in "$@"; do [[ $a == --vary || $a == --seeds ]] && grid=1; done
if ((grid)); then
  ntasks=4 nodes="" time_limit="" name=study extra="" out="" test=0 cfg=""
  cargs=()
  while (($#)); do
    case $1 in
      -h | --help) usage; exit 0 ;;
      --ntasks | --nodes | --time | --name | --sbatch | --out)
        (($# >= 2)) || jl_die "$1 needs a value (see --help)"
        case $1 in
          --ntasks) ntasks=$2 ;; --nodes) nodes=$2 ;; --time) time_limit=$2 ;;
          --name) name=$2 ;; --sbatch) extra=$2 ;; --out) out=$2 ;;
        esac
        shift 2 ;;
      --test-only) test=1; shift ;;
      --algorithms | --vary | --seeds | --target | --set)
        (($# >= 2)) || jl_die "$1 needs a value (see --help)"
        cargs+=("$1" "$2"); shift 2 ;;
      --densities | --method) jl_die "$1 is the density study's; with --vary give the grid, e.g. --vary sparsity.method=none,snip --vary sparsity.density=1,0.1" ;;
      -*) jl_die "unknown option '$1' (see --help)" ;;
      *) [[ -z $cfg ]] || jl_die "one CONFIG.ini only ('$cfg', then '$1')"
         [[ -e $1 ]] || jl_die "config '$1' not found (paths are relative to $PWD)"
         cfg=$(jl_abspath "$1"); cargs+=("$cfg"); shift ;;
    esac
  done
  [[ -n $cfg ]] || { usage >&2; exit 2; }
  jl_is_int "$ntasks" || jl_die "--ntasks '$ntasks': a positive integer"
  [[ -z $nodes ]] || jl_is_int "$nodes" || jl_die "--nodes '$nodes': a positive integer"
  [[ -z $time_limit ]] || jl_is_time "$time_limit" || jl_die "--time '$time_limit': HH:MM:SS, MM:SS, MM or D-HH:MM:SS"
  [[ $name =~ ^[A-Za-z0-9._-]+$ ]] || jl_die "--name '$name': letters, digits, . _ - only"
  bin=$(jl_find_bin "$repo")
  [[ -x $bin ]] || jl_die "no salient binary at '$bin': build it (cmake --build build) or set SALIENT_BIN"
  command -v sbatch >/dev/null || jl_die "sbatch not found: run this on a Slurm login node"
  read -r -a xopts <<<"$extra"
  out=${out:-runs/study-$(basename "$cfg" .ini)-$(date +%Y%m%d-%H%M%S)}
  out=$(jl_abspath "$out")
  out=${out%/}
  jl_check_outdir "$out"
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
fi

densities="1 0.1" algos="allreduce,localsgd,dpsgd:ring,dpsgd:exponential" ntasks=4 nodes=""
method=snip target="" time_limit="" name=compare extra="" out="" test=0 cfg=""
sets=()
jl_parse "--densities:densities --algorithms:algos --ntasks:ntasks --nodes:nodes --method:method --target:target --time:time_limit --name:name --sbatch:extra --out:out" "$@"

# --- check the inputs ---
[[ -n $cfg ]] || { usage >&2; exit 2; }
jl_is_int "$ntasks" || jl_die "--ntasks '$ntasks': a positive integer"
[[ -z $nodes ]] || jl_is_int "$nodes" || jl_die "--nodes '$nodes': a positive integer"
[[ -z $nodes ]] || ((nodes <= ntasks)) || jl_die "--nodes $nodes is more than --ntasks $ntasks"
[[ -z $target ]] || { jl_is_num "$target" && awk -v t="$target" 'BEGIN { exit !(t > 0 && t <= 1) }'; } ||
  jl_die "--target '$target': a number in (0, 1]"
[[ -z $time_limit ]] || jl_is_time "$time_limit" || jl_die "--time '$time_limit': HH:MM:SS, MM:SS, MM or D-HH:MM:SS"
[[ $name =~ ^[A-Za-z0-9._-]+$ ]] || jl_die "--name '$name': letters, digits, . _ - only"
dens=()
for D in $densities; do
  jl_is_num "$D" && awk -v d="$D" 'BEGIN { exit !(d > 0 && d <= 1) }' ||
    jl_die "--densities '$densities': numbers in (0, 1], e.g. \"1 0.1\""
  for E in "${dens[@]}"; do
    awk -v a="$D" -v b="$E" 'BEGIN { exit !(a + 0 == b + 0) }' && jl_die "--densities: $D given twice"
  done
  dens+=("$D")
done
((${#dens[@]})) || jl_die "--densities is empty"
[[ -e $cfg ]] || jl_die "config '$cfg' not found (paths are relative to $PWD)" # salient data says what else is wrong
cfg=$(jl_abspath "$cfg")
bin=$(jl_find_bin "$repo")
[[ -x $bin ]] || jl_die "no salient binary at '$bin': build it (cmake --build build) or set SALIENT_BIN"
command -v sbatch >/dev/null || jl_die "sbatch not found: run this on a Slurm login node"
case ${SALIENT_LAUNCHER:-srun} in srun | mpirun) ;; *) jl_die "SALIENT_LAUNCHER='$SALIENT_LAUNCHER': srun or mpirun" ;; esac
read -r -a xopts <<<"$extra"

# the config, the sets and the study's sparsity keys, at every density
infos=()
for D in "${dens[@]}"; do
  mapfile -t ds < <(cmp_density_sets "$D" "$method")
  info=$(jl_salient_data "$bin" "$cfg" "${sets[@]}" "${ds[@]}") || exit 2
  infos+=("$info")
done
clients=$(jl_data_field "${infos[0]}" clients)
topo_args=()
for k in degree p; do
  v=$(jl_ini_get "$cfg" topology "$k" "${sets[@]}")
  [[ -n $v ]] && topo_args+=("--$k" "$v")
done
v=$(jl_ini_get "$cfg" run seed "${sets[@]}")
[[ -n $v ]] && topo_args+=(--seed "$v")
P=$ntasks
[[ $algos =~ ^[a-z:-]+(,[a-z:-]+)*$ ]] || jl_die "--algorithms '$algos': names separated by commas, e.g. allreduce,dpsgd:ring"
IFS=, read -r -a alist <<<"$algos"
((${#alist[@]} <= 16)) || jl_die "--algorithms: at most 16 entries"
declare -A seen=()
for a in "${alist[@]}"; do
  [[ -z ${seen[$a]:-} ]] || jl_die "--algorithms: '$a' given twice"
  seen[$a]=1
  case $a in
    allreduce | localsgd | dpsgd | dpsgd:*)
      [[ -z $clients ]] || ((clients >= P)) || jl_die "$a on $P ranks needs [data] clients >= $P (each rank hosts clients); it is $clients"
      if [[ $a == dpsgd* ]] && ((P > 1)); then
        g=${a#dpsgd}; g=${g#:}
        [[ -n $g ]] || g=$(jl_ini_get "$cfg" topology graph "${sets[@]}")
        msg=$("$bin" topo --graph "${g:-ring}" --nodes "$P" "${topo_args[@]}" 2>&1 >/dev/null) ||
          jl_die "--algorithms $a: ${msg:-salient topo --graph $g --nodes $P failed}"
      fi ;;
    fedavg)
      ((P >= 2)) || jl_die "fedavg needs --ntasks >= 2 (rank 0 serves)"
      [[ -z $clients ]] || ((clients >= P - 1)) || jl_die "fedavg on $P ranks needs >= $((P - 1)) clients; [data] clients = $clients" ;;
    centralized)
      ((P == 1)) || jl_die "centralized runs on 1 rank: --ntasks 1, or leave it out of --algorithms"
      for D in "${dens[@]}"; do cmp_is_dense "$D" || jl_die "centralized is dense: it cannot run at density $D"; done ;;
    *) jl_die "--algorithms: unknown '$a' (allreduce, localsgd, dpsgd, dpsgd:GRAPH, fedavg, centralized)" ;;
  esac
done

cfgname=$(basename "$cfg" .ini)
out=${out:-runs/compare-study-$cfgname-$(date +%Y%m%d-%H%M%S)}
out=$(jl_abspath "$out")
out=${out%/}
jl_check_outdir "$out"

# --- submit ---
export SALIENT_BIN=$bin   # the jobs run the binary checked here
if ((test)); then
  echo "$JL_PROG: --test-only: asking Slurm about each job (sbatch --test-only); nothing is queued or written"
else
  mkdir -p "$out" || jl_die "cannot create $out"
  printf '%s\n' "# study.ini - written by jobs/compare-study.sh, read by jobs/compare.sbatch and jobs/gather.sbatch" \
    "kind = compare" "config = $cfg" "repo = $repo" "bin = $bin" "densities = ${dens[*]}" \
    "algorithms = $algos" "ntasks = $P" "nodes = ${nodes:--}" "method = $method" "target = ${target:-0.8}" \
    "sets = ${sets[*]}" "submitted = $(date '+%F %T')" >"$out/study.ini"
fi
res=(-n "$P")
[[ -n $nodes ]] && res=(-N "$nodes" -n "$P")
[[ -n $time_limit ]] && res+=(-t "$time_limit")
args=("$cfg" --densities "${dens[*]}" --algorithms "$algos" --method "$method")
[[ -n $target ]] && args+=(--target "$target")
args+=("${sets[@]}" --out "$out")
last=$((${#dens[@]} - 1))
aid=$(jl_sbatch "$test" -J "$name" --array="0-$last" --output "$out/slurm-%A_%a.out" "${res[@]}" "${xopts[@]}" \
  "$here/compare.sbatch" "${args[@]}") || jl_die "sbatch refused the array job (${res[*]}${extra:+ $extra}); nothing is queued"
if ((test)); then
  echo "$JL_PROG: array (--array=0-$last, ${res[*]}; densities ${dens[*]}): $aid"
else
  echo "$JL_PROG: array job $aid (${res[*]}), one task per density:"
  for i in "${!dens[@]}"; do
    echo "$JL_PROG:   task ${aid}_$i: density ${dens[$i]} -> $out/density-${dens[$i]}/ (log $out/slurm-${aid}_$i.out)"
  done
  echo "array_job = $aid" >>"$out/study.ini"
fi
dep=()
((test)) || dep=("--dependency=afterok:$aid")
gid=$(jl_sbatch "$test" -J "$name-gather" -N 1 -n 1 -t 00:15:00 --output "$out/slurm-gather-%j.out" \
  "${dep[@]}" "${xopts[@]}" "$here/gather.sbatch" "$out") || {
  ((test)) || jl_cancel "$aid"
  jl_die "sbatch refused the gather job; nothing of this study is queued"
}
if ((test)); then
  echo "$JL_PROG: gather: $gid (a real run adds --dependency=afterok:<array job id>)"
  echo "$JL_PROG: --test-only: no job was queued. Results would land in $out/: density-D/ for D in ${dens[*]}, study.csv, acc_vs_bytes.png, final_acc.png"
else
  echo "gather_job = $gid" >>"$out/study.ini"
  echo "$JL_PROG: gather: job $gid (afterok:$aid) (log $out/slurm-gather-$gid.out)"
  echo "$JL_PROG: results in $out/: density-D/ for D in ${dens[*]}, study.csv, acc_vs_bytes.png, final_acc.png"
  echo "$JL_PROG: watch: squeue -j $aid,$gid"
fi
