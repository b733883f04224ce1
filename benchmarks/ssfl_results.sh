#!/usr/bin/env bash
# ssfl_results.sh - the sparsity / accuracy / bytes table of SSFL against dense FedAvg and the
# pruning-at-init baselines (issue 3), on Fashion-MNIST with jobs/configs/ssfl-fmnist.ini: 100
# clients, balanced Dirichlet(0.3), 10% sampled per round. Runs every (model, method, density)
# under mpirun, skipping runs whose summary.json exists (so it resumes), then prints the table
# and writes it to RUNS/ssfl-table.md; with --write-docs also into docs/results.md between the
# ssfl-table markers (a tracked file: only when asked, so a trial run never rewrites it).
# usage: benchmarks/ssfl_results.sh [--write-docs] [build=build] [runs=runs/ssfl-results] [ranks=4]
#                                   [rounds=100]
#        env ARCHS="lenet5 mlp" DENSITIES="0.5 0.2 0.1 0.05" METHODS="..." EXTRA="--set k=v ..."
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

run_one() { # arch method density
  local dir="$runs/$1-$2-$3"
  [[ -s $dir/summary.json ]] && return 0
  local d=(--set "sparsity.density=$3")
  [[ $2 == dense ]] && d=()
  echo "== $1 $2 density $3" >&2
  # shellcheck disable=SC2046
  # a directory without summary.json is a run that failed or was stopped: run it again (--force)
  mpirun -np "$ranks" "$build/bin/salient" train "$config" --set "model.arch=$1" \
    --set "run.rounds=$rounds" $(sets "$2") "${d[@]}" ${EXTRA:-} --out "$dir" --force 2>"$dir.log" ||
    { echo "failed: $1 $2 $3 (see $dir.log)" >&2; return 1; }
}

# at most $par runs at a time; a failed run is reported and the others go on
spawn() {
  if ((par <= 1)); then run_one "$@" || true; return; fi
  while (($(jobs -rp | wc -l) >= par)); do wait -n || true; done
  run_one "$@" &
}
mkdir -p "$runs"
for arch in $archs; do
  spawn "$arch" dense 1
  for d in $densities; do for m in $methods; do spawn "$arch" "$m" "$d"; done; done
done
wait

# One table row per run. acc = mean test accuracy of the last 5 evaluated rounds; final and best
# from summary.json; MB/round from round 1; round-0 MB (scores up + mask down); total MB.
row() { # arch method density
  local dir="$runs/$1-$2-$3"
  [[ -s $dir/summary.json ]] || { echo "| $1 | $2 | $3 | (failed: see $dir.log) |||||| "; return; }
  awk -F, -v arch="$1" -v m="$2" -v d="$3" '
    NR == 1 { next }
    $2 != "" { acc[++k] = $2; best = $2 > best ? $2 : best; fin = $2 }
    $1 == 0 { r0 = $6 + $7 }
    $1 == 1 { r1 = $6 + $7 }
    { tot += $6 + $7 }
    END {
      s = 0; for (i = k - 4; i <= k; i++) s += acc[i]
      printf "| %s | %s | %s | %.2f | %.2f | %.2f | %.3f | %.3f | %.1f |\n", arch, m, d,
             100 * s / 5, 100 * fin, 100 * best, r1 / 1e6, r0 / 1e6, tot / 1e6
    }' "$dir/metrics.csv"
}
table=$(mktemp)
{
  echo "| model | method | density | acc (last 5 evals) % | final % | best % | MB/round | round-0 MB | total MB |"
  echo "|---|---|---|---|---|---|---|---|---|"
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
