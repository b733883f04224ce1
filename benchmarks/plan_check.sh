#!/usr/bin/env bash
# plan_check.sh - `salient plan`'s predicted round time against measured runs of the same
# configs with few rounds (issue 21 asks for agreement within 25%). Each case runs `plan` with
# the run's own layout and a fresh calibration, then the run under mpirun, and compares the
# predicted round with the mean wall_s of rounds 1..R of its metrics.csv (round 0, the mask and
# the first evaluation, is predicted_setup_s and left out). Prints a markdown table and writes
# it to OUT/plan-check.md; with --write-docs also into docs/results.md between the plan-check
# markers. Run it on an idle machine: the calibration and the runs are timings.
# usage: benchmarks/plan_check.sh [--write-docs] [build=build] [out=runs/plan-check]
#        env CASES="name ..." picks cases (default: all below)
set -euo pipefail
cd "$(dirname "$0")/.."
write_docs=0
args=()
for a in "$@"; do if [[ $a == --write-docs ]]; then write_docs=1; else args+=("$a"); fi; done
set -- "${args[@]}"
build=${1:-build} out=${2:-runs/plan-check}
bin=$build/bin/salient
[[ -x $bin ]] || { echo "build first: cmake --build $build" >&2; exit 2; }
export OPENBLAS_NUM_THREADS=1 OMPI_MCA_mpi_yield_when_idle=1 OMPI_MCA_rmaps_base_oversubscribe=1
[[ $(id -u) == 0 ]] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mkdir -p "$out"

# name | ranks | threads | config | --set arguments (rounds included)
cases=(
  "ssfl-lenet5|3|1|jobs/configs/ssfl-fmnist.ini|--set run.rounds=4"
  "fedavg-resnet20|2|1|jobs/configs/ssfl-fmnist.ini|--set model.arch=resnet20 --set run.rounds=3 --set run.eval_every=2 --set data.test_limit=2000"
  "dpsgd-lenet5|2|1|jobs/configs/compare-fmnist.ini|--set train.algorithm=dpsgd --set data.clients=2 --set run.rounds=2 --set data.train_limit=12000"
  "allreduce-mlp|2|1|jobs/configs/compare-fmnist.ini|--set model.arch=mlp --set train.algorithm=allreduce --set data.clients=2 --set run.rounds=2 --set data.train_limit=12000"
  "centralized-resnet20|1|2|jobs/configs/lenet5-fmnist.ini|--set model.arch=resnet20 --set run.rounds=2 --set data.train_limit=4000 --set data.test_limit=1000"
)
want=${CASES:-}
table=$out/plan-check.md
{
  echo "| case | ranks x threads | predicted round s | measured round s | measured / predicted |"
  echo "|---|---|---|---|---|"
} >"$table"
for c in "${cases[@]}"; do
  IFS='|' read -r name ranks threads config sets <<<"$c"
  [[ -z $want || " $want " == *" $name "* ]] || continue
  read -r -a s <<<"$sets --set run.threads=$threads"
  echo "== $name: plan" >&2
  "$bin" plan "$config" --tasks-per-node "$ranks" --threads "$threads" "${s[@]}" >"$out/$name.plan"
  pred=$(sed -n 's/^predicted_round_s: //p' "$out/$name.plan")
  echo "== $name: run on $ranks rank(s)" >&2
  launch=()
  ((ranks > 1)) && launch=(mpirun -np "$ranks" --bind-to none)
  "${launch[@]}" "$bin" train "$config" "${s[@]}" --out "$out/$name" --force 2>"$out/$name.log"
  meas=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "wall_s") w = i; next }
    $1 >= 1 { t += $w; n++ } END { if (n) printf "%.4g", t / n }' "$out/$name/metrics.csv")
  ratio=$(awk -v m="$meas" -v p="$pred" 'BEGIN { printf "%.2f", m / p }')
  echo "| $name | $ranks x $threads | $pred | $meas | $ratio |" | tee -a "$table"
done
echo "# $(uname -n), $(date -u +%Y-%m-%dT%H:%MZ), load $(cut -d' ' -f1-3 /proc/loadavg)" >>"$table"
if ((write_docs)) && grep -q '<!-- plan-check:begin -->' docs/results.md; then
  awk -v t="$table" '
    /<!-- plan-check:begin -->/ { print; while ((getline l < t) > 0) print l; skip = 1; next }
    /<!-- plan-check:end -->/ { skip = 0 }
    !skip' docs/results.md >docs/results.md.tmp && mv docs/results.md.tmp docs/results.md
fi
