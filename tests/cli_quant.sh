#!/usr/bin/env bash
# cli_quant.sh - [comm] quantize for fedavg uploads: QSGD metrics bit for bit the same on 2 and 3
# ranks; bytes_up equals the encoder's length formula, dense and through a snip mask; AdaQuantFL's
# levels follow ceil(s0 sqrt(loss_1 / loss_{t-1})) from the metrics; QSGD at s = 65535 ends near
# unquantized accuracy; an adaquant run killed and resumed equals an uninterrupted one; bad values
# fail with one line. Usage: cli_quant.sh SALIENT SRCDIR
bin=$1 src=$2
source "$(dirname "$0")/lib.sh"
smoke="$src/jobs/configs/smoke.ini"
rounds=3
[[ ${SALIENT_SANITIZED:-0} == 1 ]] && rounds=2 # ASan: every run is ~6x slower
fed=(--set train.algorithm=fedavg --set data.clients=10 --set data.partition=dirichlet
     --set data.alpha=0.5 --set train.sample_fraction=0.5 --set run.rounds=$rounds)
run() { local np=$1; shift; mpirun -np "$np" "$bin" train "$smoke" "${fed[@]}" "$@"; }
cols() { cut -d, -f1-7,12 "$1/metrics.csv"; } # round .. bytes_down, lr: not timing
col() { sed -n "$(($2 + 2))p" "$1/metrics.csv" | cut -d, -f"$3"; } # col DIR ROUND FIELD
json() { sed -n "s/.*\"$2\": \"\{0,1\}\([^\",]*\).*/\1/p" "$1/summary.json"; }
nnz_of() { sed -n 's/.* \([0-9]*\) of [0-9]* parameters travel.*/\1/p' "$1"; }
# quant.h's layout: 20 header bytes, a float norm per bucket, (1 + ceil(log2(s + 1))) bits/entry
qbytes() { # qbytes N S BUCKET
  local n=$1 s=$2 bk=$3 w=0
  while (((1 << w) < s + 1)); do w=$((w + 1)); done
  echo $((20 + 4 * (bk ? (n + bk - 1) / bk : 1) + (n * (w + 1) + 7) / 8))
}

# --- QSGD (s = 16, buckets of 512) on 2 and 3 ranks: the same metrics, bytes by the formula ---
for np in 2 3; do
  run $np --set comm.quantize=qsgd --out "$tmp/q$np" 2>"$tmp/q$np.err"
  rc=$?
  check '[[ $rc == 0 ]]' "qsgd on $np ranks failed: $(tail -2 "$tmp/q$np.err")"
done
check 'cmp -s <(cols "$tmp/q2") <(cols "$tmp/q3")' \
  "qsgd metrics on 3 ranks differ from 2: $(diff <(cols "$tmp/q2") <(cols "$tmp/q3") | head -3 | tr '\n' ' ')"
n=$(nnz_of "$tmp/q3.err")
check '[[ -n $n ]]' "no parameter count on the progress output"
want=$((5 * $(qbytes "$n" 16 512)))
for r in $(seq 1 $rounds); do
  check '[[ $(col "$tmp/q3" $r 6) == "$want" && $(col "$tmp/q3" $r 7) == $((5 * n * 4)) ]]' \
    "qsgd round $r bytes_up/down $(col "$tmp/q3" $r 6)/$(col "$tmp/q3" $r 7), expected $want/$((5 * n * 4))"
done
check 'awk -F, "NR == $rounds + 2 && \$2 > 0.3 { ok = 1 } END { exit !ok }" "$tmp/q3/metrics.csv"' \
  "qsgd did not learn: $(cut -d, -f1-2 "$tmp/q3/metrics.csv" | tr '\n' ' ')"

# --- through a snip mask (density 0.1) only the kept entries' values travel: bytes shrink to
# the formula at nnz, bucket 0 (one norm) for a second check of the header arithmetic ---
run 3 --set comm.quantize=qsgd --set comm.quantize_levels=3 --set comm.quantize_bucket=0 \
  --set sparsity.method=snip --set sparsity.density=0.1 --out "$tmp/m" 2>"$tmp/m.err"
rc=$?
k=$(nnz_of "$tmp/m.err")
check '[[ $rc == 0 && -n $k && $k -lt $((n / 5)) ]]' "masked qsgd: rc $rc, nnz $k of $n"
check '[[ $(col "$tmp/m" 1 6) == $((5 * $(qbytes "$k" 3 0))) ]]' \
  "masked qsgd bytes_up $(col "$tmp/m" 1 6), expected $((5 * $(qbytes "$k" 3 0)))"

# --- s = 65535 (17 bits an entry): within 0.02 of unquantized fedavg's final accuracy. Numerics,
# not memory safety: the sanitizer build (where MPI start-up dominates) leaves these two runs out,
# its code paths being those of the runs above ---
if [[ ${SALIENT_SANITIZED:-0} != 1 ]]; then
  run 2 --out "$tmp/none" 2>/dev/null
  run 2 --set comm.quantize=qsgd --set comm.quantize_levels=65535 --out "$tmp/fine" 2>/dev/null
  a=$(col "$tmp/none" $rounds 2) b=$(col "$tmp/fine" $rounds 2)
  check 'awk -v a="$a" -v b="$b" "BEGIN { d = a - b; exit !(a > 0.3 && d < 0.02 && d > -0.02) }"' \
    "qsgd s=65535 accuracy $b vs unquantized $a"
  check '[[ $(col "$tmp/none" 1 6) == $((5 * n * 4)) ]]' "unquantized bytes_up $(col "$tmp/none" 1 6)"
fi

# --- AdaQuantFL from s0 = 4: each round's levels (stderr) follow the metrics' training losses,
# and grow as the loss falls; killed after round 3 (checkpoint at 2) and resumed: the same run ---
ada=(--set comm.quantize=adaquant --set comm.quantize_levels=4 --set run.rounds=4
     --set train.lr=0.2 --set checkpoint.every=2)
run 2 "${ada[@]}" --out "$tmp/a1" 2>"$tmp/a1.err"
rc=$?
check '[[ $rc == 0 ]]' "adaquant failed: $(tail -2 "$tmp/a1.err")"
grep '^salient: round [0-9]*: adaquant levels' "$tmp/a1.err" >&2
lv() { sed -n "s/^salient: round $2: adaquant levels \([0-9]*\)$/\1/p" "$1"; }
for r in 1 2 3 4; do
  l1=$(col "$tmp/a1" 1 4) lp=$(col "$tmp/a1" $((r - 1)) 4)
  e=$(awk -v a="$l1" -v b="$lp" -v r=$r 'BEGIN { s = 4; if (r > 1) { x = 4 * sqrt(a / b);
        s = int(x); if (s < x) s++; if (s < 4) s = 4 } print s }')
  check '[[ $(lv "$tmp/a1.err" $r) == "$e" ]]' "adaquant round $r: levels $(lv "$tmp/a1.err" $r), expected $e"
  check '[[ $(col "$tmp/a1" $r 6) == $((5 * $(qbytes "$n" "$e" 512))) ]]' \
    "adaquant round $r bytes_up $(col "$tmp/a1" $r 6) at $e levels"
  check '[[ $(col "$tmp/a1" $r 7) == $((5 * (n * 4 + 4))) ]]' \
    "adaquant round $r bytes_down $(col "$tmp/a1" $r 7): the weights and the levels"
done
check '[[ $(lv "$tmp/a1.err" 4) -gt 4 ]]' "adaquant levels did not grow: $(lv "$tmp/a1.err" 4)"
SALIENT_KILL_AT_ROUND=3 run 3 "${ada[@]}" --out "$tmp/a2" >/dev/null 2>&1
rc=$?
check '[[ $rc != 0 && $(readlink "$tmp/a2/ckpt/latest") == round-000002.h5 ]]' \
  "the killed adaquant run: rc $rc, latest -> $(readlink "$tmp/a2/ckpt/latest")"
run 3 "${ada[@]}" --out "$tmp/a2" --resume latest 2>"$tmp/a2.err"
rc=$?
check '[[ $rc == 0 ]]' "adaquant resume failed: $(tail -1 "$tmp/a2.err")"
check 'cmp -s <(cols "$tmp/a1") <(cols "$tmp/a2")' \
  "adaquant resumed differs: $(diff <(cols "$tmp/a1") <(cols "$tmp/a2") | head -3 | tr '\n' ' ')"
check '[[ $(lv "$tmp/a2.err" 4) == $(lv "$tmp/a1.err" 4) ]]' "resumed round 4 levels differ"

# --- ResNet-20 with BatchNorm: the running statistics travel raw beside the quantized weights.
# At s = 1 a stochastically rounded running variance would often go negative; raw, none can.
# bytes_up = each client's encoding of its nnz weight updates + 4 bytes a state float ---
rn=(--set model.arch=resnet20 --set model.norm=batch --set data.dataset=synthetic-cifar
    --set data.synth_train=36 --set data.synth_test=12 --set train.batch=12 --set data.clients=6
    --set data.partition=iid --set run.rounds=1 --set checkpoint.every=0
    --set comm.quantize=qsgd --set comm.quantize_levels=1)
run 2 "${rn[@]}" --out "$tmp/rn" 2>"$tmp/rn.err"
rc=$?
check '[[ $rc == 0 ]]' "resnet20-bn qsgd failed: $(tail -2 "$tmp/rn.err")"
rn_nnz=$(json "$tmp/rn" nnz)
want=$((3 * ($(qbytes "$rn_nnz" 1 512) + 4 * 1589)))
check '[[ $(col "$tmp/rn" 1 6) == "$want" ]]' \
  "resnet20-bn qsgd bytes_up $(col "$tmp/rn" 1 6), expected $want (3 x (QSGD of $rn_nnz + 1589 raw state floats))"
neg=$(h5dump "$tmp/rn/ckpt/latest" 2>/dev/null | awk '/DATASET "running_var"/ { on = 1 } on && /\(/ { for (i = 1; i <= NF; i++) if ($i ~ /^-/) bad++ } on && /^ *}/ { on = 0 } END { print bad + 0 }')
nvar=$(h5dump "$tmp/rn/ckpt/latest" 2>/dev/null | grep -c 'DATASET "running_var"')
check '[[ $nvar -gt 0 && $neg == 0 ]]' "resnet20-bn qsgd: $neg negative running_var values in $nvar tensors"

# --- bad values: one line naming the key and the fix, non-zero exit ---
bad_cfg "qsgd with centralized" "\[comm\] quantize = qsgd.*algorithm = fedavg" \
  --set comm.quantize=qsgd
bad_cfg "levels 0" "quantize_levels" --set comm.quantize_levels=0
bad_cfg "levels 65536" "quantize_levels" --set comm.quantize_levels=65536
bad_cfg "bucket -1" "quantize_bucket" --set comm.quantize_bucket=-1
bad_cfg "an unknown scheme" "quantize" --set comm.quantize=int8

finish cli_quant
