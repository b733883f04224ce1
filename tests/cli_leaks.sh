#!/usr/bin/env bash
# cli_leaks.sh - the leak check, once per path. In the ASan build LeakSanitizer at exit costs
# ~10 s per process (it scans the whole heap, Open MPI's included), so the long multi-rank CLI
# tests run without it (tests/CMakeLists.txt) and this test drives every command and training
# path once, at the smallest sizes, with it: centralized, fedavg with SNIP and QSGD, with
# AdaQuantFL, with BatchNorm state, dpsgd with a mask and [run] check_collectives, allreduce
# with top-k, localsgd, each checkpointed and one resumed; compare, data, plan, ckpt inspect
# and ckpt seal. A leak makes the process exit non-zero (LeakSanitizer's exit code), which each
# check sees. In the Release build the same runs must simply succeed.
# Usage: cli_leaks.sh SALIENT SRCDIR
bin=$1 src=$2
source "$(dirname "$0")/lib.sh"
smoke="$src/jobs/configs/smoke.ini"
s=(--set data.synth_train=96 --set data.synth_test=32 --set data.clients=4 --set run.rounds=2
   --set checkpoint.every=1)
# go NAME NP ARGS...: one run; a non-zero exit (a leak report under ASan) fails with its tail
go() {
  local name=$1 np=$2
  shift 2
  if ((np > 1)); then
    mpirun -np "$np" "$bin" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
  else
    "$bin" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
  fi
  local rc=$?
  check '[[ $rc == 0 ]]' "$name: exit $rc: $(grep -m3 -E "ERROR: LeakSanitizer|SUMMARY|salient" "$tmp/$name.err" | tr '\n' ' ')"
}
go centralized 1 train "$smoke" "${s[@]}" --out "$tmp/c"
go resume 1 train "$smoke" "${s[@]}" --set run.rounds=3 --out "$tmp/c" --resume latest
go fedavg-snip-qsgd 3 train "$smoke" "${s[@]}" --set train.algorithm=fedavg --set sparsity.method=snip \
  --set sparsity.density=0.2 --set comm.quantize=qsgd --out "$tmp/f"
go fedavg-resume 2 train "$smoke" "${s[@]}" --set train.algorithm=fedavg --set sparsity.method=snip \
  --set sparsity.density=0.2 --set comm.quantize=qsgd --set run.rounds=3 --out "$tmp/f" --resume latest
go fedavg-adaquant 2 train "$smoke" "${s[@]}" --set train.algorithm=fedavg --set comm.quantize=adaquant \
  --out "$tmp/a"
go fedavg-resnet20-bn 2 train "$smoke" "${s[@]}" --set train.algorithm=fedavg --set model.arch=resnet20 \
  --set model.norm=batch --set data.dataset=synthetic-cifar --set data.synth_train=24 \
  --set data.synth_test=8 --set train.batch=8 --set run.rounds=1 --out "$tmp/r"
go dpsgd-snip 3 train "$smoke" "${s[@]}" --set train.algorithm=dpsgd --set sparsity.method=snip \
  --set sparsity.density=0.2 --set run.check_collectives=true --out "$tmp/d"
go allreduce-topk 2 train "$smoke" "${s[@]}" --set train.algorithm=allreduce --set comm.compress=topk \
  --set comm.topk_density=0.05 --out "$tmp/t"
go localsgd 2 train "$smoke" "${s[@]}" --set train.algorithm=localsgd --out "$tmp/l"
go compare 2 compare "$smoke" "${s[@]}" --set run.rounds=1 --algorithms allreduce,dpsgd,centralized \
  --vary train.lr=0.1,0.05 --seeds 2 --out "$tmp/cmp"
go compare-resume 2 compare "$smoke" "${s[@]}" --set run.rounds=1 --algorithms allreduce,dpsgd,centralized \
  --vary train.lr=0.1,0.05 --seeds 2 --out "$tmp/cmp" --resume
go data 1 data "$smoke" "${s[@]}"
go plan 1 plan "$smoke" "${s[@]}" --set train.algorithm=fedavg --nodes 2 --tasks-per-node 2
go inspect 1 ckpt inspect "$tmp/d/ckpt/latest"
tail -c +$((1048576 + 1)) "$tmp/c/ckpt/latest" >"$tmp/old.h5" # the 1 MiB user block off: unsealed
go seal 1 ckpt seal "$tmp/old.h5" "$tmp/new.h5"
finish cli_leaks
