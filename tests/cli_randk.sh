#!/usr/bin/env bash
# cli_randk.sh - [comm] compress = randk for fedavg uploads: each decoder's metrics bit for bit
# the same on 2 and 3 ranks; bytes_up = clients x (k + state floats) x 4, k = round(density x
# nnz), no indices, dense, through a snip mask and with BatchNorm state; the spatial and
# temporal decoders change the model (they are used) and print their rho / error ratio; a
# temporal run killed and resumed equals an uninterrupted one (its per-client memory, one row
# per client, is in the checkpoint; clients are sampled half a round, so not consecutively);
# bad values fail with one line.
# Usage: cli_randk.sh SALIENT SRCDIR
bin=$1 src=$2
source "$(dirname "$0")/lib.sh"
smoke="$src/jobs/configs/smoke.ini"
rounds=3
sanitized && rounds=2 # ASan: every run is ~6x slower
fed=(--set train.algorithm=fedavg --set data.clients=10 --set data.partition=dirichlet
     --set data.alpha=0.5 --set train.sample_fraction=0.5 --set run.rounds=$rounds
     --set comm.compress=randk)
run() { local np=$1; shift; mpirun -np "$np" "$bin" train "$smoke" "${fed[@]}" "$@"; }
cols() { cut -d, -f1-7,12 "$1/metrics.csv"; } # round .. bytes_down, lr: not timing
col() { sed -n "$(($2 + 2))p" "$1/metrics.csv" | cut -d, -f"$3"; } # col DIR ROUND FIELD
nnz_of() { sed -n 's/.* \([0-9]*\) of [0-9]* parameters travel.*/\1/p' "$1"; }
state_of() { sed -n 's/^salient: model: \([0-9]*\) state floats.*/\1/p' "$1"; }
kof() { awk -v n="$1" -v d="$2" 'BEGIN { k = sprintf("%.0f", n * d); if (k < 1) k = 1; print k }'; }

# --- each decoder on 2 and 3 ranks: the same metrics; bytes_up = 5 x k x 4, bytes_down dense ---
decs=(plain spatial temporal)
for dec in "${decs[@]}"; do
  for np in 2 3; do
    sanitized && [[ $np == 2 && $dec != temporal ]] && continue
    run $np --set comm.randk_decoder=$dec --out "$tmp/$dec$np" 2>"$tmp/$dec$np.err"
    rc=$?
    check '[[ $rc == 0 ]]' "randk $dec on $np ranks failed: $(tail -2 "$tmp/$dec$np.err")"
  done
  if [[ -d $tmp/${dec}2 ]]; then
    check 'cmp -s <(cols "$tmp/${dec}2") <(cols "$tmp/${dec}3")' \
      "randk $dec metrics on 3 ranks differ from 2: $(diff <(cols "$tmp/${dec}2") <(cols "$tmp/${dec}3") | head -3 | tr '\n' ' ')"
  fi
done
n=$(nnz_of "$tmp/plain3.err")
check '[[ -n $n ]]' "no parameter count on the progress output"
k=$(kof "$n" 0.1)
for dec in "${decs[@]}"; do
  for r in $(seq 1 $rounds); do
    check '[[ $(col "$tmp/${dec}3" $r 6) == $((5 * k * 4)) && $(col "$tmp/${dec}3" $r 7) == $((5 * n * 4)) ]]' \
      "$dec round $r bytes_up/down $(col "$tmp/${dec}3" $r 6)/$(col "$tmp/${dec}3" $r 7), expected $((5 * k * 4))/$((5 * n * 4))"
  done
done
check 'grep -q "uploads Rand-k, $k of $n entries" "$tmp/plain3.err"' "no Rand-k line: $(grep Rand-k "$tmp/plain3.err")"
check 'awk -F, "NR == $rounds + 2 && \$2 > 0.3 { ok = 1 } END { exit !ok }" "$tmp/plain3/metrics.csv"' \
  "randk did not learn: $(cut -d, -f1-2 "$tmp/plain3/metrics.csv" | tr '\n' ' ')"
# Round 1's temporal memory is empty: temporal is plain there, and differs from round 2 on. The
# spatial decoder reports its rho each round, and its model differs from plain's.
check '[[ $(col "$tmp/temporal3" 1 3) == $(col "$tmp/plain3" 1 3) && $(col "$tmp/temporal3" 2 3) != $(col "$tmp/plain3" 2 3) ]]' \
  "temporal vs plain test_loss: round 1 $(col "$tmp/temporal3" 1 3) / $(col "$tmp/plain3" 1 3), round 2 $(col "$tmp/temporal3" 2 3) / $(col "$tmp/plain3" 2 3)"
check '[[ $(grep -c "^salient: round [0-9]*: randk rho 0\.[0-9]*$" "$tmp/spatial3.err") == $rounds && $(col "$tmp/spatial3" 1 3) != $(col "$tmp/plain3" 1 3) ]]' \
  "spatial: rho lines $(grep -c "randk rho" "$tmp/spatial3.err"), test_loss $(col "$tmp/spatial3" 1 3) vs plain $(col "$tmp/plain3" 1 3)"

check '[[ $(grep -c "^salient: round [0-9]*: randk temporal error ratio [0-9.]*$" "$tmp/temporal3.err") == $rounds ]]' \
  "temporal: error ratio lines $(grep -c "temporal error ratio" "$tmp/temporal3.err"), expected $rounds"

# --- through a snip mask (density 0.2) k is drawn among the kept entries: k = round(0.05 nnz) ---
run 3 --set comm.randk_density=0.05 --set sparsity.method=snip --set sparsity.density=0.2 \
  --set run.rounds=1 --out "$tmp/m" 2>"$tmp/m.err"
rc=$?
km=$(nnz_of "$tmp/m.err")
check '[[ $rc == 0 && -n $km && $km -lt $((n / 4)) ]]' "masked randk: rc $rc, nnz $km of $n"
check '[[ $(col "$tmp/m" 1 6) == $((5 * $(kof "$km" 0.05) * 4)) ]]' \
  "masked randk bytes_up $(col "$tmp/m" 1 6), expected $((5 * $(kof "$km" 0.05) * 4))"

# --- BatchNorm statistics travel raw beside the k entries: bytes_up = 2 x (k + state) x 4 ---
run 2 --set data.clients=4 --set run.rounds=1 --set model.arch=resnet20 --set model.norm=batch \
  --set data.dataset=synthetic-cifar --set data.synth_train=48 --set data.synth_test=16 \
  --set train.batch=12 --out "$tmp/bn" 2>"$tmp/bn.err"
rc=$?
nb=$(nnz_of "$tmp/bn.err") sb=$(state_of "$tmp/bn.err")
check '[[ $rc == 0 && -n $nb && ${sb:-0} -gt 0 ]]' "resnet20 randk: rc $rc, nnz $nb, state $sb"
check '[[ $(col "$tmp/bn" 1 6) == $((2 * ($(kof "$nb" 0.1) + sb) * 4)) ]]' \
  "BatchNorm randk bytes_up $(col "$tmp/bn" 1 6), expected $((2 * ($(kof "$nb" 0.1) + sb) * 4))"

# --- temporal, killed after round 3 (checkpoint at 2) and resumed on another rank count: the
# same run, and the checkpoint holds the per-client memory ---
tm=(--set comm.randk_decoder=temporal --set run.rounds=4 --set checkpoint.every=2)
run 2 "${tm[@]}" --out "$tmp/t1" 2>"$tmp/t1.err"
rc=$?
check '[[ $rc == 0 ]]' "temporal 4 rounds failed: $(tail -2 "$tmp/t1.err")"
SALIENT_KILL_AT_ROUND=3 run 3 "${tm[@]}" --out "$tmp/t2" >/dev/null 2>&1
rc=$?
check '[[ $rc != 0 && $(readlink "$tmp/t2/ckpt/latest") == round-000002.h5 ]]' \
  "the killed temporal run: rc $rc, latest -> $(readlink "$tmp/t2/ckpt/latest")"
if command -v h5ls >/dev/null; then # one memory row per client (10) over the n kept weights
  check 'h5ls -r "$tmp/t2/ckpt/round-000002.h5" | grep -q "^/comm/randk_client_memory *Dataset {10, $n}"' \
    "no /comm/randk_client_memory {10, $n} in the temporal checkpoint: $(h5ls -r "$tmp/t2/ckpt/round-000002.h5" | grep comm)"
  check 'grep -q "/comm/randk_client_memory" "$src/docs/checkpoint-format.md"' \
    "docs/checkpoint-format.md does not name /comm/randk_client_memory"
fi
run 2 "${tm[@]}" --out "$tmp/t2" --resume latest 2>"$tmp/t2.err"
rc=$?
check '[[ $rc == 0 ]]' "temporal resume failed: $(tail -1 "$tmp/t2.err")"
check 'cmp -s <(cols "$tmp/t1") <(cols "$tmp/t2")' \
  "temporal resumed differs: $(diff <(cols "$tmp/t1") <(cols "$tmp/t2") | head -3 | tr '\n' ' ')"

# --- a temporal checkpoint of an older salient (format 5: /comm/randk_memory, one memory shared
# by all clients) cannot stand in for the per-client memory: refused in one line. Crafted from
# this run's: the dataset moved to the old name, the copy resealed ---
py=/usr/bin/python3 # Debian's h5py lives beside the system Python
if $py -c "import h5py" 2>/dev/null; then
  ck=$(readlink -f "$tmp/t2/ckpt/latest")
  ub=$($py -c 'import sys, h5py; print(h5py.File(sys.argv[1], "r").userblock_size)' "$ck")
  tail -c +$((ub + 1)) "$ck" >"$tmp/old.h5"
  $py -c 'import sys, h5py; h5py.File(sys.argv[1], "r+").move("/comm/randk_client_memory", "/comm/randk_memory")' "$tmp/old.h5"
  "$bin" ckpt seal "$tmp/old.h5" "$tmp/old-sealed.h5" >/dev/null 2>&1
  run 2 "${tm[@]}" --set run.rounds=5 --out "$tmp/t3" --resume "$tmp/old-sealed.h5" 2>"$tmp/t3.err"
  rc=$?
  check '[[ $rc != 0 && $(grep -c "holds one Rand-k-Temporal memory shared by all clients (/comm/randk_memory, format 6); this salient keeps one per client.*start the run again" "$tmp/t3.err") == 1 ]]' \
    "an old shared-memory temporal checkpoint: rc $rc: $(grep -v "^salient: " "$tmp/t3.err" | head -3)"
fi

# --- bad values: one line naming the key and the fix, non-zero exit ---
bad_cfg "randk with centralized" "\[comm\] compress = randk applies to .*algorithm = fedavg" \
  --set comm.compress=randk
bad_cfg "randk with allreduce" "\[comm\] compress = randk applies to .*algorithm = fedavg" \
  --set comm.compress=randk --set train.algorithm=allreduce
bad_cfg "randk with qsgd" "compress = randk and quantize = qsgd" --set train.algorithm=fedavg \
  --set comm.compress=randk --set comm.quantize=qsgd
bad_cfg "topk with fedavg" "compress = topk applies to .*algorithm = allreduce" \
  --set train.algorithm=fedavg --set comm.compress=topk
bad_cfg "density 0" "randk_density" --set comm.randk_density=0
bad_cfg "density 1.5" "randk_density" --set comm.randk_density=1.5
bad_cfg "an unknown decoder" "randk_decoder" --set comm.randk_decoder=both

finish cli_randk
