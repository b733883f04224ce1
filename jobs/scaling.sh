#!/usr/bin/env bash
# scaling.sh - submit a strong or weak scaling study of one config: one jobs/train.sbatch job
# per point, then one jobs/gather.sbatch job (--dependency=afterok on every point) that writes
# DIR/scaling.csv and the plots. Run it on the login node, from anywhere.
#
#   jobs/scaling.sh [--mode strong|weak] [--ranks "1 2 4 8" | --nodes "1 2 4" [--tasks-per-node K]]
#                   [--work-per-rank N] [--time HH:MM:SS] [--name NAME] [--sbatch "OPTS"]
#                   [--out DIR] [--test-only] CONFIG.ini [--set section.key=value]...
#   jobs/scaling.sh --help
#
# Points:
#   --nodes "1 2 4"     one job per node count n: sbatch -N n -n n*K --ntasks-per-node=K;
#                       points are DIR/nodes-<n>/ (default: --nodes "1 2 4", K = 1)
#   --tasks-per-node K  ranks per node with --nodes
#   --ranks "1 2 4 8"   one job per rank count P instead: sbatch -n P (train.sbatch's own
#                       #SBATCH --nodes=1 applies unless --sbatch says otherwise); points are
#                       DIR/ranks-<P>/. This is the mode for a single-node Slurm.
# Modes:
#   strong (default)    the config as it is at every point: fixed total work, so each rank's
#                       share of the training set shrinks as ranks grow
#   weak                fixed work per rank: --work-per-rank N (required) sets
#                       data.train_limit = N x ranks at each point; the data set must hold
#                       N x (largest rank count) training samples (synthetic: raise
#                       data.synth_train)
# Other options:
#   --time T            time limit of each point's job (sbatch -t; default: train.sbatch's)
#   --name NAME         job name prefix (default scaling): jobs NAME-<point>, NAME-gather
#   --sbatch "OPTS"     extra sbatch options for every job, e.g. "-p batch -A proj"
#   --out DIR           results (default runs/scaling-<mode>-<config name>-<date-time>); must
#                       not exist or be empty
#   --test-only         check everything and ask Slurm (sbatch --test-only) whether each job
#                       could run and when; nothing is queued and nothing is written
#   --set k=v           passed to every point (salient train --set)
#
# Checks before submitting: the salient binary (SALIENT_BIN, else salient on PATH, else
# build/bin/salient of this repository), the config and every --set (`salient data`), the
# algorithm against each rank count (centralized: 1 rank; fedavg: >= 2; clients >= ranks),
# dpsgd's graph at each rank count (`salient topo`), weak scaling's sample count.
#
# Results: DIR/<point>/ (metrics.csv, summary.json, ... as salient train writes them),
# DIR/<point>/slurm-<jobid>.out (each point's log), DIR/study.ini (what was submitted),
# DIR/scaling.csv, DIR/speedup.png, efficiency.png, round_time.png, bytes_per_rank.png
# (see jobs/gather.sbatch --help). A failed point cancels the gather job (afterok);
# `jobs/gather.sbatch DIR` gathers the points that finished, by hand.
set -uo pipefail

JL_PROG=scaling.sh
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
# shellcheck source=jobs/lib/common.sh
. "$here/lib/common.sh"

usage() { sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }

mode=strong nodes_list="" ranks_list="" tpn="" work="" time_limit="" name=scaling
extra="" out="" test=0 cfg=""
sets=()
jl_parse "--mode:mode --nodes:nodes_list --ranks:ranks_list --tasks-per-node:tpn --work-per-rank:work --time:time_limit --name:name --sbatch:extra --out:out" "$@"

# --- check the inputs ---
[[ -n $cfg ]] || { usage >&2; exit 2; }
[[ $mode == strong || $mode == weak ]] || jl_die "--mode '$mode': strong or weak"
[[ -z $nodes_list || -z $ranks_list ]] || jl_die "--nodes and --ranks exclude each other"
[[ -z $tpn || -z $ranks_list ]] || jl_die "--tasks-per-node goes with --nodes, not --ranks"
if [[ -z $ranks_list ]]; then
  by=nodes
  nodes_list=${nodes_list:-1 2 4}
  tpn=${tpn:-1}
  jl_is_int "$tpn" || jl_die "--tasks-per-node '$tpn': a positive integer"
  list=$nodes_list
else
  by=ranks
  list=$ranks_list
fi
pts=()
for v in $list; do jl_is_int "$v" || jl_die "--$by '$list': positive integers, e.g. \"1 2 4\""; pts+=("$v"); done
((${#pts[@]})) || jl_die "--$by is empty"
mapfile -t pts < <(printf '%s\n' "${pts[@]}" | sort -n -u)
if [[ $mode == weak ]]; then
  [[ -n $work ]] || jl_die "--mode weak needs --work-per-rank N (training samples per rank)"
  jl_is_int "$work" || jl_die "--work-per-rank '$work': a positive integer"
else
  [[ -z $work ]] || jl_die "--work-per-rank is for --mode weak (strong scaling keeps the config's work)"
fi
[[ -z $time_limit ]] || jl_is_time "$time_limit" || jl_die "--time '$time_limit': HH:MM:SS, MM:SS, MM or D-HH:MM:SS"
[[ $name =~ ^[A-Za-z0-9._-]+$ ]] || jl_die "--name '$name': letters, digits, . _ - only"
[[ -e $cfg ]] || jl_die "config '$cfg' not found (paths are relative to $PWD)" # salient data says what else is wrong
cfg=$(jl_abspath "$cfg")
bin=$(jl_find_bin "$repo")
[[ -x $bin ]] || jl_die "no salient binary at '$bin': build it (cmake --build build) or set SALIENT_BIN"
command -v sbatch >/dev/null || jl_die "sbatch not found: run this on a Slurm login node"
case ${SALIENT_LAUNCHER:-srun} in srun | mpirun) ;; *) jl_die "SALIENT_LAUNCHER='$SALIENT_LAUNCHER': srun or mpirun" ;; esac
read -r -a xopts <<<"$extra"

# the config and the sets, once as they are (weak: per point below)
info=$(jl_salient_data "$bin" "$cfg" "${sets[@]}") || exit 2
algo=$(jl_ini_get "$cfg" train algorithm "${sets[@]}")
algo=${algo:-centralized}
graph=$(jl_ini_get "$cfg" topology graph "${sets[@]}")
graph=${graph:-ring}
topo_args=()
for k in degree p; do
  v=$(jl_ini_get "$cfg" topology "$k" "${sets[@]}")
  [[ -n $v ]] && topo_args+=("--$k" "$v")
done
v=$(jl_ini_get "$cfg" run seed "${sets[@]}")
[[ -n $v ]] && topo_args+=(--seed "$v")

cfgname=$(basename "$cfg" .ini)
out=${out:-runs/scaling-$mode-$cfgname-$(date +%Y%m%d-%H%M%S)}
out=$(jl_abspath "$out")
out=${out%/}
jl_check_outdir "$out"

names=() nodes_of=() ranks_of=() psets=()
maxP=${pts[-1]}
[[ $by == nodes ]] && maxP=$((maxP * tpn))
for v in "${pts[@]}"; do
  if [[ $by == nodes ]]; then n=$v P=$((v * tpn)); pname=nodes-$v
  else n="" P=$v; pname=ranks-$v; fi
  case $algo in
    centralized) ((P == 1)) || jl_die "[train] algorithm = centralized runs on 1 rank; point $pname has $P (use allreduce, localsgd, dpsgd or fedavg)" ;;
    fedavg) ((P >= 2)) || jl_die "[train] algorithm = fedavg needs >= 2 ranks (a server and clients); point $pname has $P" ;;
  esac
  ps=""
  pinfo=$info
  if [[ $mode == weak ]]; then
    ps="data.train_limit=$((work * P))"
    pinfo=$(jl_salient_data "$bin" "$cfg" "${sets[@]}" --set "$ps") || exit 2
    have=$(jl_data_field "$pinfo" train)
    ((have >= work * P)) || jl_die "weak point $pname needs $work x $P = $((work * P)) training samples; the data set has $have (synthetic: --set data.synth_train=$((work * maxP)) or more)"
  fi
  clients=$(jl_data_field "$pinfo" clients)
  if [[ -n $clients ]]; then
    if [[ $algo == fedavg ]]; then
      ((clients >= P - 1)) || jl_die "point $pname: fedavg on $P ranks needs >= $((P - 1)) clients; [data] clients = $clients"
    else
      ((clients >= P)) || jl_die "point $pname: $algo on $P ranks needs [data] clients >= $P (each rank hosts clients); it is $clients"
    fi
  fi
  if [[ $algo == dpsgd ]] && ((P > 1)); then
    msg=$("$bin" topo --graph "$graph" --nodes "$P" "${topo_args[@]}" 2>&1 >/dev/null) ||
      jl_die "point $pname: ${msg:-salient topo --graph $graph --nodes $P failed}"
  fi
  names+=("$pname") nodes_of+=("$n") ranks_of+=("$P") psets+=("$ps")
done

# --- submit ---
export SALIENT_BIN=$bin   # the jobs run the binary checked here
if ((test)); then
  echo "$JL_PROG: --test-only: asking Slurm about each job (sbatch --test-only); nothing is queued or written"
else
  mkdir -p "$out" || jl_die "cannot create $out"
fi
study() { ((test)) || printf '%s\n' "$@" >>"$out/study.ini"; }
study "# study.ini - written by jobs/scaling.sh, read by jobs/gather.sbatch" \
  "kind = scaling" "mode = $mode" "by = $by" "config = $cfg" "repo = $repo" "bin = $bin" \
  "tasks_per_node = $tpn" "work_per_rank = $work" "sets = ${sets[*]}" "submitted = $(date '+%F %T')" \
  "# point = NAME NODES(- = not asked) RANKS JOBID"

ids=()
for i in "${!names[@]}"; do
  pname=${names[$i]} P=${ranks_of[$i]} n=${nodes_of[$i]}
  res=(-n "$P")
  [[ -n $n ]] && res=(-N "$n" -n "$P" "--ntasks-per-node=$tpn")
  [[ -n $time_limit ]] && res+=(-t "$time_limit")
  args=("$cfg" "${sets[@]}")
  [[ -n ${psets[$i]} ]] && args+=(--set "${psets[$i]}")
  args+=(--out "$out/$pname")
  ((test)) || mkdir -p "$out/$pname" # Slurm opens the log there; it does not create directories
  id=$(jl_sbatch "$test" -J "$name-$pname" --output "$out/$pname/slurm-%j.out" "${res[@]}" "${xopts[@]}" \
    "$here/train.sbatch" "${args[@]}") || {
    jl_cancel "${ids[@]}"
    jl_die "sbatch refused point $pname (${res[*]}${extra:+ $extra}); nothing of this study is queued"
  }
  if ((test)); then
    echo "$JL_PROG: point $pname (${res[*]}): $id; would write $out/$pname/"
  else
    ids+=("$id")
    study "point = $pname ${n:--} $P $id"
    echo "$JL_PROG: point $pname: job $id (${res[*]}) -> $out/$pname/ (log $out/$pname/slurm-$id.out)"
  fi
done

dep=()
((test)) || dep=("--dependency=afterok:$(IFS=:; echo "${ids[*]}")")
gid=$(jl_sbatch "$test" -J "$name-gather" -N 1 -n 1 -t 00:15:00 --output "$out/slurm-gather-%j.out" \
  "${dep[@]}" "${xopts[@]}" "$here/gather.sbatch" "$out") || {
  jl_cancel "${ids[@]}"
  jl_die "sbatch refused the gather job; nothing of this study is queued"
}
if ((test)); then
  echo "$JL_PROG: gather: $gid (a real run adds --dependency=afterok:<every point's job id>)"
  echo "$JL_PROG: --test-only: no job was queued. Results would land in $out/: scaling.csv, speedup.png, efficiency.png, round_time.png, bytes_per_rank.png"
else
  study "gather_job = $gid"
  echo "$JL_PROG: gather: job $gid (after ${#ids[@]} point(s): afterok:$(IFS=:; echo "${ids[*]}")) (log $out/slurm-gather-$gid.out)"
  echo "$JL_PROG: results in $out/: scaling.csv, speedup.png, efficiency.png, round_time.png, bytes_per_rank.png"
  echo "$JL_PROG: watch: squeue -j $(IFS=,; echo "${ids[*]},$gid")"
fi
