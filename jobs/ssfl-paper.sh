#!/usr/bin/env bash
# ssfl-paper.sh - SSFL's headline experiment (ResNet-18, GroupNorm, CIFAR-10 or CIFAR-100, 100
# non-IID clients, density 0.5, 1000 rounds) as one Slurm job on N nodes: prints `salient plan`'s
# prediction of its time for that layout, then submits jobs/train.sbatch. Run it on the login
# node, from anywhere.
#
#   jobs/ssfl-paper.sh [--dataset cifar10|cifar100] [--nodes N] [--tasks-per-node R]
#                      [--threads T] [--time HH:MM:SS] [--network ib100|eth10|eth1|shm]
#                      [--sbatch "OPTS"] [--out DIR] [--config FILE] [--test-only]
#                      [--set section.key=value]...
#   jobs/ssfl-paper.sh --help
#
# Layout: N nodes (default 1) x R ranks each (default 2: fedavg needs a server and a client
# rank) x T OpenMP threads per rank (default 1): sbatch -N N --ntasks-per-node R
# --cpus-per-task T, and [run] threads = T. Rank 0 serves; the other ranks train the 10
# clients sampled in each round (of 100), dealt evenly ([run] placement = balanced), so more
# than 11 ranks gain nothing: give the cores to threads (e.g. 2 nodes x 6 ranks x 10 threads).
# --dataset picks jobs/configs/ssfl-<dataset>-resnet18.ini; --config FILE runs another config
# the same way. --time is the job's limit (sbatch -t; default train.sbatch's 1 h): a run longer
# than that checkpoints 2 min before the limit, requeues itself and resumes (jobs/README.md),
# so the prediction says how many requeues to expect. --network (default: shm on one node,
# ib100 on more) is the link `salient plan` models. --test-only: the plan and Slurm's verdict
# (sbatch --test-only), nothing queued or written.
#
# Results: DIR (default runs/ssfl-<config name>-<date-time>) holds the run (metrics.csv,
# summary.json, ckpt/), the plan (plan.txt) and Slurm's log (slurm-<jobid>.out).
set -uo pipefail

JL_PROG=ssfl-paper.sh
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
# shellcheck source=jobs/lib/common.sh
. "$here/lib/common.sh"

usage() { sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }

dataset=cifar10 nodes=1 tpn=2 threads=1 time_limit="" network="" extra="" out="" test=0
cfg="" config=""
sets=()
jl_parse "--dataset:dataset --nodes:nodes --tasks-per-node:tpn --threads:threads --time:time_limit --network:network --sbatch:extra --out:out --config:config" "$@"
[[ -z $cfg ]] || jl_die "no CONFIG.ini argument: --dataset picks the config (or --config FILE)"
case $dataset in cifar10 | cifar100) ;; *) jl_die "--dataset '$dataset': cifar10 or cifar100" ;; esac
cfg=${config:-$here/configs/ssfl-$dataset-resnet18.ini}
for v in nodes tpn threads; do
  jl_is_int "${!v}" || jl_die "--${v/tpn/tasks-per-node} '${!v}': a positive integer"
done
[[ -z $time_limit ]] || jl_is_time "$time_limit" || jl_die "--time '$time_limit': HH:MM:SS, MM:SS, MM or D-HH:MM:SS"
[[ -e $cfg ]] || jl_die "config '$cfg' not found"
cfg=$(jl_abspath "$cfg")
bin=$(jl_find_bin "$repo")
[[ -x $bin ]] || jl_die "no salient binary at '$bin': build it (cmake --build build) or set SALIENT_BIN"
read -r -a xopts <<<"$extra"
sets+=(--set "run.threads=$threads")

# the prediction, for exactly this layout (plan also checks the config, the data and the ranks)
plan_args=(--nodes "$nodes" --tasks-per-node "$tpn" --threads "$threads")
[[ -n $network ]] && plan_args+=(--network "$network")
err=$(mktemp)
plan=$("$bin" plan "$cfg" "${plan_args[@]}" "${sets[@]}" 2>"$err") || {
  msg=$(head -1 "$err"); rm -f "$err"; jl_die "${msg:-salient plan failed}"; }
rm -f "$err"
printf '%s\n' "$plan" | sed "s/^/$JL_PROG: plan: /"
wall=$(printf '%s\n' "$plan" | sed -n 's/^predicted_wall_s: //p')
if [[ -n $time_limit ]]; then
  limit=$(awk -v t="$time_limit" 'BEGIN { d = 0; if (index(t, "-")) { split(t, a, "-"); d = a[1]; t = a[2] }
    n = split(t, p, ":"); s = n == 3 ? p[1] * 3600 + p[2] * 60 + p[3] : n == 2 ? p[1] * 60 + p[2] : p[1] * 60
    print d * 86400 + s }')
  ((limit > 120)) || jl_die "--time $time_limit: train.sbatch checkpoints 2 min before the limit; give it more than 2 min"
  n=$(awk -v w="$wall" -v l="$limit" 'BEGIN { n = w / (l - 120); printf "%d", n == int(n) ? n - 1 : int(n) }')
  ((n > 0)) && jl_say "the run is predicted to take ${wall} s, more than --time $time_limit allows: it will checkpoint, requeue and resume about $n time(s)"
fi

command -v sbatch >/dev/null || jl_die "sbatch not found: run this on a Slurm login node (the plan above needs no Slurm)"
cfgname=$(basename "$cfg" .ini)
out=${out:-runs/ssfl-$cfgname-$(date +%Y%m%d-%H%M%S)}
out=$(jl_abspath "$out")
out=${out%/}
jl_check_outdir "$out"
sb=(-N "$nodes" -n "$((nodes * tpn))" --ntasks-per-node "$tpn" --cpus-per-task "$threads" --job-name "ssfl-$cfgname")
[[ -n $time_limit ]] && sb+=(-t "$time_limit")
if ((test)); then
  verdict=$(jl_sbatch 1 "${sb[@]}" "${xopts[@]}" --output /dev/null "$here/train.sbatch" "$cfg" --out "$out" "${sets[@]}") || exit 2
  jl_say "test only: $verdict; nothing queued"
  exit 0
fi
mkdir -p "$out" || jl_die "cannot create $out"
printf '%s\n' "$plan" >"$out/plan.txt"
id=$(jl_sbatch 0 "${sb[@]}" "${xopts[@]}" --output "$out/slurm-%j.out" "$here/train.sbatch" "$cfg" --out "$out" "${sets[@]}") || exit 2
jl_say "submitted job $id: $nodes node(s) x $tpn rank(s) x $threads thread(s); results and log in $out/"
