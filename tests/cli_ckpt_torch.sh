#!/usr/bin/env bash
# cli_ckpt_torch.sh - a checkpoint is a PyTorch model: scripts/ckpt_eval_torch.py loads
# (strictly, /state included: ResNet-20 with GroupNorm and BatchNorm, centralized and SSFL;
# ResNet-18 and -50 with GroupNorm)
# OUT/ckpt/latest into the reference module (tests/fixtures/gen_fixtures.py) and gets the test
# accuracy salient recorded for that round, to within one sample, after a short centralized
# LeNet-5 run and an SSFL run (MLP, density 0.1, 3 ranks) on Fashion-MNIST; a checkpoint whose
# /model was altered does not match; synthetic data and non-checkpoints are refused (exit 2).
# Skipped (exit 77, "SKIPPED") without python3-torch, python3-h5py or dataset-fashion-mnist.
# Usage: cli_ckpt_torch.sh SALIENT SRCDIR
bin=$1 src=$2
py=/usr/bin/python3
if ! [[ -x $py ]] || ! OPENBLAS_NUM_THREADS=1 $py -c 'import torch, h5py' 2>/dev/null ||
   ! [[ -d /usr/share/datasets/fashion-mnist ]]; then
  echo "cli_ckpt_torch: SKIPPED (needs python3-torch, python3-h5py, dataset-fashion-mnist)"
  exit 77
fi
source "$(dirname "$0")/lib.sh"
evalpy="$src/scripts/ckpt_eval_torch.py"
# Under ASan (sanitized, tests/lib.sh) every run that writes a checkpoint of another kind stays
# (LeNet-5; MLP under SSFL; ResNet-20 with BatchNorm and its /state; ResNet-50, GroupNorm and
# bottleneck blocks, the most tensors), each still matched by PyTorch: a value read from
# uninitialised memory would show there as a mismatch. What only repeats is the Release build's:
# the larger data (more of the same steps), ResNet-20 with GroupNorm and ResNet-18 (the same norm
# and blocks as those two), and ResNet-20 with BatchNorm under SSFL (the server's averaging of
# /state runs under ASan in cli_fedavg, the SSFL checkpoint here with the MLP).
train_n=6000 test_n=2000
sanitized && train_n=1200 test_n=500
short=(--set data.dataset=fashion-mnist --set data.train_limit=$train_n --set data.test_limit=$test_n)
# field NAME FILE: the value of a "name: value" line
field() { sed -n "s/^$1: //p" "$2"; }

# --- centralized LeNet-5, 2 epochs of 6000 samples (1200 under ASan) ---
"$bin" train "$src/jobs/configs/lenet5-fmnist.ini" "${short[@]}" --set run.rounds=2 \
  --out "$tmp/c" 2>"$tmp/c.err"
rc=$?
check '[[ $rc == 0 && -e $tmp/c/ckpt/latest ]]' "centralized run failed: $(tail -2 "$tmp/c.err")"
$py "$evalpy" "$tmp/c/ckpt/latest" >"$tmp/c.out" 2>&1
rc=$?
echo "lenet5 centralized: torch $(field torch_test_acc "$tmp/c.out"), salient $(field salient_test_acc "$tmp/c.out")"
check '[[ $rc == 0 && $(field match "$tmp/c.out") == yes ]]' "lenet5: rc $rc: $(cat "$tmp/c.out")"
check '[[ $(field round "$tmp/c.out") == 2 && $(field test_n "$tmp/c.out") == $test_n ]]' \
  "lenet5: round/test_n: $(cat "$tmp/c.out")"

# --- SSFL: MLP at density 0.1, a server and 2 client ranks, 3 rounds ---
mpirun -np 3 "$bin" train "$src/jobs/configs/ssfl-fmnist.ini" "${short[@]}" \
  --set model.arch=mlp --set data.clients=10 --set train.sample_fraction=0.5 \
  --set sparsity.density=0.1 --set run.rounds=3 --out "$tmp/f" 2>"$tmp/f.err"
rc=$?
check '[[ $rc == 0 && -e $tmp/f/ckpt/latest ]]' "SSFL run failed: $(tail -2 "$tmp/f.err")"
$py "$evalpy" "$tmp/f/ckpt/latest" >"$tmp/f.out" 2>&1
rc=$?
echo "mlp SSFL: torch $(field torch_test_acc "$tmp/f.out"), salient $(field salient_test_acc "$tmp/f.out")"
check '[[ $rc == 0 && $(field match "$tmp/f.out") == yes && $(field round "$tmp/f.out") == 3 ]]' \
  "mlp SSFL: rc $rc: $(cat "$tmp/f.out")"

# --- ResNet-20: GroupNorm and BatchNorm centralized, BatchNorm under SSFL (running statistics
# in /state, averaged by the server) ---
tiny=(--set data.dataset=fashion-mnist --set data.train_limit=600 --set data.test_limit=500
      --set model.arch=resnet20 --set train.batch=32)
norms="group batch"
sanitized && norms=batch
for norm in $norms; do
  "$bin" train "$src/jobs/configs/lenet5-fmnist.ini" "${tiny[@]}" --set model.norm=$norm \
    --set run.rounds=1 --out "$tmp/r$norm" 2>"$tmp/r$norm.err"
  $py "$evalpy" "$tmp/r$norm/ckpt/latest" >"$tmp/r$norm.out" 2>&1
  rc=$?
  echo "resnet20-$norm centralized: torch $(field torch_test_acc "$tmp/r$norm.out"), salient $(field salient_test_acc "$tmp/r$norm.out")"
  check '[[ $rc == 0 && $(field match "$tmp/r$norm.out") == yes ]]' "resnet20-$norm: rc $rc: $(cat "$tmp/r$norm.out")"
done
# resnet18 and resnet50 (GroupNorm, as SSFL's code): one short round each, loaded strictly
archs="resnet18 resnet50"
sanitized && archs=resnet50
for arch in $archs; do
  "$bin" train "$src/jobs/configs/lenet5-fmnist.ini" "${tiny[@]}" --set model.arch=$arch \
    --set data.train_limit=16 --set data.test_limit=32 --set data.clients=1 --set train.batch=16 \
    --set run.rounds=1 \
    --out "$tmp/$arch" 2>"$tmp/$arch.err"
  $py "$evalpy" "$tmp/$arch/ckpt/latest" >"$tmp/$arch.out" 2>&1
  rc=$?
  echo "$arch-gn centralized: torch $(field torch_test_acc "$tmp/$arch.out"), salient $(field salient_test_acc "$tmp/$arch.out")"
  check '[[ $rc == 0 && $(field match "$tmp/$arch.out") == yes ]]' "$arch: rc $rc: $(cat "$tmp/$arch.out")"
done
if ! sanitized; then
  mpirun -np 3 "$bin" train "$src/jobs/configs/ssfl-fmnist.ini" "${tiny[@]}" --set model.norm=batch \
    --set data.clients=4 --set data.partition=iid --set train.sample_fraction=1 \
    --set sparsity.density=0.5 --set run.rounds=2 --out "$tmp/rb" 2>"$tmp/rb.err"
  $py "$evalpy" "$tmp/rb/ckpt/latest" >"$tmp/rb.out" 2>&1
  rc=$?
  echo "resnet20-bn SSFL: torch $(field torch_test_acc "$tmp/rb.out"), salient $(field salient_test_acc "$tmp/rb.out")"
  check '[[ $rc == 0 && $(field match "$tmp/rb.out") == yes ]]' "resnet20-bn SSFL: rc $rc: $(cat "$tmp/rb.out")"
fi
# Under ASan the checks below are the Release build's alone: they test the Python script on
# checkpoints the runs above wrote (altered copies, --save, refusals), not salient.
if ! sanitized; then
  # --save: the loaded model as a state dict that torch.load gives back, tensor for tensor; an
  # existing file is refused. Started by a python3 without torch (-S: no site-packages, as in a
  # bare virtual environment), the script runs itself again under one that has it.
  /usr/bin/python3 -S "$evalpy" "$tmp/c/ckpt/latest" --save "$tmp/c.pt" >"$tmp/cs.out" 2>&1
  rc=$?
  check '[[ $rc == 0 && $(field saved "$tmp/cs.out") == "$tmp/c.pt" ]]' "--save (from python3 -S): rc $rc: $(cat "$tmp/cs.out")"
  $py -c 'import sys, h5py, numpy as np, torch
sd = torch.load(sys.argv[1])
with h5py.File(sys.argv[2], "r") as f:
    w = f["model/conv1/weight"][()]
assert np.array_equal(sd["conv1.weight"].numpy(), w), "conv1.weight differs"
assert len(sd) == 10, sorted(sd)' "$tmp/c.pt" "$tmp/c/ckpt/latest" 2>"$tmp/cs.py"
  rc=$?
  check '[[ $rc == 0 ]]' "--save: the saved state dict differs from the checkpoint: $(tail -1 "$tmp/cs.py")"
  $py "$evalpy" "$tmp/c/ckpt/latest" --save "$tmp/c.pt" >"$tmp/cs2.out" 2>&1
  rc=$?
  check '[[ $rc == 2 ]] && grep -q "the file exists" "$tmp/cs2.out"' "--save over a file: rc $rc $(cat "$tmp/cs2.out")"

  # the running statistics matter: reset to 0/1 in a copy, torch's accuracy moves off salient's
  cp -L "$tmp/rbatch/ckpt/latest" "$tmp/nostats.h5"
  $py -c 'import sys, h5py
with h5py.File(sys.argv[1], "r+") as f:
    for name, g in f["state"].items():
        g["running_mean"][...] = 0
        g["running_var"][...] = 1' "$tmp/nostats.h5"
  $py "$evalpy" "$tmp/nostats.h5" >"$tmp/ns.out" 2>&1
  rc=$?
  check '[[ $rc == 1 && $(field match "$tmp/ns.out") == no ]]' "resnet20-bn without its statistics still matched: rc $rc"

  # --- the comparison can fail: fc3.weight negated in a copy ---
  cp -L "$tmp/c/ckpt/latest" "$tmp/altered.h5"
  $py -c 'import sys, h5py
with h5py.File(sys.argv[1], "r+") as f:
    d = f["model/fc3/weight"]
    d[...] = -d[()]' "$tmp/altered.h5"
  $py "$evalpy" "$tmp/altered.h5" >"$tmp/a.out" 2>&1
  rc=$?
  check '[[ $rc == 1 && $(field match "$tmp/a.out") == no ]]' "altered model: rc $rc: $(cat "$tmp/a.out")"

  # --- refused with one line and exit 2: synthetic data, a file that is not a checkpoint ---
  "$bin" train "$src/jobs/configs/smoke.ini" --set data.dataset=synthetic --set run.rounds=1 \
    --out "$tmp/s" 2>/dev/null
  $py "$evalpy" "$tmp/s/ckpt/latest" >"$tmp/s.out" 2>&1
  rc=$?
  check '[[ $rc == 2 && $(wc -l <"$tmp/s.out") == 1 ]] && grep -q "synthetic is not supported" "$tmp/s.out"' \
    "synthetic: rc $rc: $(cat "$tmp/s.out")"
  $py "$evalpy" "$tmp/c/config.ini" >"$tmp/n.out" 2>&1
  rc=$?
  check '[[ $rc == 2 && $(wc -l <"$tmp/n.out") == 1 ]]' "not a checkpoint: rc $rc: $(cat "$tmp/n.out")"
  $py "$evalpy" >"$tmp/u.out" 2>&1
  rc=$?
  check '[[ $rc == 2 && $(wc -l <"$tmp/u.out") == 1 ]]' "no arguments: rc $rc: $(cat "$tmp/u.out")"
fi

finish cli_ckpt_torch
