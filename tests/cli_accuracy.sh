#!/usr/bin/env bash
# cli_accuracy.sh - the default job's accuracy sanity: LeNet-5, 3 epochs of Fashion-MNIST,
# batch 64, lr 0.05, momentum 0.9 must reach >= 0.85 test accuracy (PyTorch 1.13: 0.857-0.860).
# Skipped (exit 0 with a message) when dataset-fashion-mnist is not installed.
set -u
bin=$1 src=$2
data=/usr/share/datasets/fashion-mnist
if [[ ! -f $data/train-images-idx3-ubyte.gz ]]; then
  echo "cli_accuracy: skipped: $data not found (apt-get install dataset-fashion-mnist)"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin" train "$src/jobs/configs/lenet5-fmnist.ini" --out "$tmp/run" 2>"$tmp/err" || {
  cat "$tmp/err"; echo "cli_accuracy: 0 passed, 1 failed"; exit 1; }
acc=$(sed -n 's/.*"final_test_acc": *\([0-9.]*\).*/\1/p' "$tmp/run/summary.json")
rows=$(($(wc -l <"$tmp/run/metrics.csv") - 1))
echo "lenet5 fashion-mnist 3 epochs: final_test_acc $acc over $rows rounds"
pass=0 fail=0
if awk -v a="$acc" 'BEGIN{exit !(a >= 0.85)}'; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: accuracy $acc < 0.85"; fi
if [[ $rows == 3 ]]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $rows rounds, want 3"; fi
echo "cli_accuracy: $pass passed, $fail failed"
[[ $fail == 0 ]]
