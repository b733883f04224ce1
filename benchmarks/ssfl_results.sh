#!/usr/bin/env bash
# ssfl_results.sh - the sparsity / accuracy / bytes table of SSFL against dense FedAvg and the
# pruning-at-init baselines (issue 3), on Fashion-MNIST with jobs/configs/ssfl-fmnist.ini: 100
# clients, balanced Dirichlet(0.3), 10% sampled per round. Runs every (model, method, density,
# seed) under mpirun, skipping runs whose summary.json exists (so it resumes), then prints the
# table and writes it to RUNS/ssfl-table.md; with --write-docs also into docs/results.md between
# the ssfl-table markers (a tracked file: only when asked, so a trial run never rewrites it).
# With several seeds every accuracy column is the mean +- sample std (n-1) over the seeds, as in
# the rest of docs/results.md; the byte columns do not depend on the seed (same nnz every seed).
# usage: benchmarks/ssfl_results.sh [--write-docs] [build=build] [runs=runs/ssfl-results] [ranks=4]
#                                   [rounds=100]
#        env ARCHS="lenet5 mlp" DENSITIES="0.5 0.2 0.1 0.05" METHODS="..." EXTRA="--set k=v ..."
#            SEEDS="1 2 3" (default "1": one seed, as the table was first measured)
#            PAR=N runs N jobs at once (each takes `ranks` processes; ranks are not bound to
#            cores, so that concurrent jobs do not pile onto the same ones)
set -euo pipefail
cd "$(dirname "$0")/.."
write_docs=0
args=()
for a in "$@"; do if [[ $a == --write-docs ]]; then write_docs=1; else args+=("$a"); fi; done
set -- "${args[@]}"
build=${1:-build} runs=${2:-runs/ssfl-results} ranks=${3:-4} rounds=${4:-100}
archs=${ARCHS:-lenet5 mlp}
densities=${DENSITIES:-0.5 0.2 0.1 0.05}
methods=${METHODS:-snip-clients snip-server grasp-clients synflow magnitude erk random}
seeds=${SEEDS:-1}
for s in $seeds; do
  [[ $s =~ ^[0-9]+$ ]] ||
    { echo "SEEDS: '$s' is not a seed; give non-negative integers, e.g. SEEDS=\"1 2 3\"" >&2; exit 2; }
done
export OPENBLAS_NUM_THREADS=1 OMPI_MCA_mpi_yield_when_idle=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_hwloc_base_binding_policy=none
par=${PAR:-1}
[[ $(id -u) == 0 ]] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
[[ -x $build/bin/salient ]] || { echo "build first: cmake --build $build" >&2; exit 2; }
config=jobs/configs/ssfl-fmnist.ini

# method name -> --set arguments
sets() {
  case $1 in
    dense) echo "--set sparsity.method=none --set sparsity.density=1" ;;
    snip-clients) echo "--set sparsity.method=snip --set sparsity.source=clients" ;;
    snip-server) echo "--set sparsity.method=snip --set sparsity.source=server" ;;
    grasp-clients) echo "--set sparsity.method=grasp --set sparsity.source=clients" ;;
    *) echo "--set sparsity.method=$1" ;;
  esac
}

# a run's directory: one per seed (seed 1 too, so that a 1-seed and a 3-seed table share runs)
rundir() { echo "$runs/$1-$2-$3-s$4"; } # arch method density seed

run_one() { # arch method density seed
  local dir
  dir=$(rundir "$@")
  [[ -s $dir/summary.json ]] && return 0
  local d=(--set "sparsity.density=$3")
  [[ $2 == dense ]] && d=()
  echo "== $1 $2 density $3 seed $4" >&2
  # a directory without summary.json is a run that failed or was stopped: run it again (--force)
  # shellcheck disable=SC2046,SC2086
  mpirun -np "$ranks" "$build/bin/salient" train "$config" --set "model.arch=$1" \
    --set "run.rounds=$rounds" --set "run.seed=$4" $(sets "$2") "${d[@]}" ${EXTRA:-} \
    --out "$dir" --force 2>"$dir.log" ||
    { echo "failed: $1 $2 $3 seed $4 (see $dir.log)" >&2; return 1; }
}

# at most $par runs at a time; a failed run is reported and the others go on
spawn() {
  if ((par <= 1)); then run_one "$@" || true; return; fi
  while (($(jobs -rp | wc -l) >= par)); do wait -n || true; done
  run_one "$@" &
}
mkdir -p "$runs"
# seeds outermost: a run stopped early still has every row at seed 1 before any at seed 2
for seed in $seeds; do
  for arch in $archs; do
    spawn "$arch" dense 1 "$seed"
    for d in $densities; do for m in $methods; do spawn "$arch" "$m" "$d" "$seed"; done; done
  done
done
wait

# One line per run, from metrics.csv (columns found by name): acc = mean test accuracy of the
# last 5 evaluated rounds (all of them if fewer); final test accuracy; client acc mean and min
# (the per-client evaluation, from the same pass over the test set, so no extra cost) at the
# last evaluated round; MB/round from round 1; round-0 MB (scores up + mask down); total MB.
run_stats() { # dir
  awk -F, '
    NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    $c["test_acc"] != "" { acc[++k] = $c["test_acc"]; fin = $c["test_acc"]
                           cm = $c["client_acc_mean"]; cn = $c["client_acc_min"] }
    { b = $c["bytes_up"] + $c["bytes_down"]; tot += b }
    $1 == 0 { r0 = b }
    $1 == 1 { r1 = b }
    END {
      if (k == 0 || !("client_acc_mean" in c)) exit 1
      l = k < 5 ? k : 5                # fewer than 5 evaluations: all of them
      s = 0; for (i = k - l + 1; i <= k; i++) s += acc[i]
      printf "%.10g %.10g %.10g %.10g %.10g %.10g %.10g\n", 100 * s / l, 100 * fin, 100 * cm,
             100 * cn, r1 / 1e6, r0 / 1e6, tot / 1e6
    }' "$1/metrics.csv"
}

# One table row per (arch, method, density): mean +- sample std over the seeds (the value alone
# for one seed); a seed whose run failed names itself in the row instead.
row() { # arch method density
  local s dir line stats="" missing=""
  for s in $seeds; do
    dir=$(rundir "$1" "$2" "$3" "$s")
    if [[ -s $dir/summary.json ]] && line=$(run_stats "$dir"); then stats+="$line"$'\n'
    else missing+=" $dir.log"; fi
  done
  if [[ -n $missing ]]; then echo "| $1 | $2 | $3 | (failed: see$missing) |||||||"; return; fi
  printf '%s' "$stats" | awk -v arch="$1" -v m="$2" -v d="$3" '
    { n++; for (i = 1; i <= NF; i++) { s[i] += $i; v[n, i] = $i } }
    function ms(i,   mu, ss, j) {
      mu = s[i] / n
      if (n == 1) return sprintf("%.2f", mu)
      ss = 0; for (j = 1; j <= n; j++) ss += (v[j, i] - mu) ^ 2
      return sprintf("%.2f +- %.2f", mu, sqrt(ss / (n - 1)))
    }
    END {
      printf "| %s | %s | %s | %s | %s | %s | %s | %.3f | %.3f | %.1f |\n", arch, m, d,
             ms(1), ms(2), ms(3), ms(4), s[5] / n, s[6] / n, s[7] / n
    }'
}
table=$(mktemp)
{
  ns=$(wc -w <<<"$seeds")
  sd=""; ((ns > 1)) && sd=" (mean +- std, $ns seeds)"
  echo "| model | method | density | acc (last 5 evals) %$sd | final % | client acc % | client acc min % | MB/round | round-0 MB | total MB |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  for arch in $archs; do
    row "$arch" dense 1
    for d in $densities; do for m in $methods; do row "$arch" "$m" "$d"; done; done
  done
} >"$table"
cat "$table"

cp "$table" "$runs/ssfl-table.md"
echo "wrote the table into $runs/ssfl-table.md" >&2
# --write-docs: replace the marked section of docs/results.md (a temporary name, then renamed).
doc=docs/results.md
if ((write_docs)) && grep -q '<!-- ssfl-table:begin -->' "$doc"; then
  awk -v t="$table" '
    /<!-- ssfl-table:begin -->/ { print; while ((getline l < t) > 0) print l; skip = 1; next }
    /<!-- ssfl-table:end -->/ { skip = 0 }
    !skip' "$doc" >"$doc.tmp" && mv "$doc.tmp" "$doc"
  echo "wrote the table into $doc" >&2
fi
rm -f "$table"
