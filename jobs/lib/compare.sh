# shellcheck shell=bash
# jobs/lib/compare.sh - what jobs/compare-study.sh and jobs/compare.sbatch share: the settings
# one density of the study runs with. Needs jobs/lib/common.sh.

# cmp_is_dense D: D is 1 (however written)
cmp_is_dense() { awk -v d="$1" 'BEGIN { exit !(d + 0 == 1) }'; }

# cmp_density_sets D METHOD: the --set arguments for density D, one per line. Density 1 is
# dense (no mask; allreduce sends the dense gradient). Otherwise a METHOD mask at density D:
# allreduce sends the masked gradient entries (compress = mask), localsgd and dpsgd the masked
# model entries, fedavg (SSFL with snip) the masked model. The base [train] algorithm is set
# to allreduce so that the config validates with a mask; salient compare replaces it by each
# entry of --algorithms anyway (and drops compress for all but allreduce).
cmp_density_sets() {
  if cmp_is_dense "$1"; then
    printf '%s\n' --set sparsity.method=none --set sparsity.density=1 --set comm.compress=none
  else
    printf '%s\n' --set train.algorithm=allreduce --set "sparsity.method=$2" --set "sparsity.density=$1" \
      --set comm.compress=mask
  fi
}
