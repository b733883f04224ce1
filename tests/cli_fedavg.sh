#!/usr/bin/env bash
# cli_fedavg.sh - `salient train` with algorithm = fedavg under mpirun: the same metrics bit for
# bit on 2, 3 and 5 ranks and with [run] placement block and balanced (ranks.csv shows which
# rank trained how many clients) (and ResNet-20 with BatchNorm on synthetic-cifar, augmented,
# on 3 and 5 ranks, 1 and 2 threads); FedAvg
# of one client equals centralized SGD; bytes per round are
# density x dense; every pruning method runs and keeps exactly its share; bad rank counts, bad
# configs and divergence fail with one clear line. Usage: cli_fedavg.sh SALIENT SRCDIR
bin=$1 src=$2
source "$(dirname "$0")/lib.sh"
smoke="$src/jobs/configs/smoke.ini"
fed=(--set train.algorithm=fedavg --set data.clients=10 --set data.partition=dirichlet
     --set data.alpha=0.5 --set train.sample_fraction=0.5 --set run.rounds=3)
run() { local np=$1; shift; mpirun -np "$np" "$bin" train "$smoke" "${fed[@]}" "$@"; }
# the columns that must not depend on timing: round .. bytes_down, and lr
cols() { cut -d, -f1-7,12 "$1/metrics.csv"; }
json() { sed -n "s/.*\"$2\": \"\{0,1\}\([^\",]*\).*/\1/p" "$1/summary.json"; }

# Under ASan (sanitized, tests/lib.sh) the rank- and thread-count matrices shrink to the one
# run the other checks read (r3; ResNet-20 on 3 ranks and 2 threads): the runs at other counts
# drive the same code and only feed the bitwise comparisons, which the Release build makes.
# --- SSFL on 2, 3 and 5 ranks: identical mask and metrics ---
ranks="2 3 5"
sanitized && ranks=3
for np in $ranks; do
  run $np --set sparsity.method=snip --set sparsity.density=0.1 --out "$tmp/r$np" 2>"$tmp/r$np.err"
  rc=$?
  check '[[ $rc == 0 ]]' "snip on $np ranks failed: $(tail -2 "$tmp/r$np.err")"
done
check 'grep -q "^round 3/3 .*test_acc .*client_acc .*up .*down .*samples/s .*ETA" "$tmp/r3.err"' "no progress line per round"
check 'grep -q "salient: mask (snip, density 0.1)" "$tmp/r3.err"' "no per-layer mask report"
check '[[ $(head -1 "$tmp/r3/mask.csv") == tensor,numel,kept,density ]]' "mask.csv header"
check 'grep -q "\"method\": \"snip\", \"scope\": \"global\", \"source\": \"clients\", \"target_density\": 0.1," "$tmp/r3/summary.json"' \
  "SSFL's summary.json identity: $(sed -n 2p "$tmp/r3/summary.json")"
check '[[ $(wc -l <"$tmp/r3/metrics.csv") == 5 ]]' "metrics.csv: header, round 0 and 3 rounds"
# round 0's mask broadcast goes to each client rank, so only its bytes_down may differ
for np in 3 5; do
  sanitized && break
  check 'cmp -s <(cols "$tmp/r2" | sed "2s/,[0-9]*,\([^,]*\)$/,X,\1/") <(cols "$tmp/r$np" | sed "2s/,[0-9]*,\([^,]*\)$/,X,\1/")' \
    "metrics on $np ranks differ from 2 ranks"
  check 'cmp -s "$tmp/r2/mask.csv" "$tmp/r$np/mask.csv"' "mask on $np ranks differs from 2 ranks"
done
check '! grep -q "^0,.*,0\.1,\|^1,,," "$tmp/r3/metrics.csv"' "malformed rows"

# --- [run] placement: the runs above deal each round's 5 sampled clients in turn to the client
# ranks (balanced, the default); block trains each on its home rank. Same bits (every rank holds
# every client's data). ranks.csv shows the placement: a client rank's bytes are one upload of
# nnz floats (mlp: no state) per client it trained, so with balanced client rank r trains
# exactly the j < 5 with j mod W = r - 1; block, on these samples, is uneven ---
# dealt DIR NP: every round, every client rank's bytes are its round-robin count x nnz x 4
dealt() {
  awk -F, -v W=$(($2 - 1)) -v b=$((4 * $(json "$1" nnz))) '
    NR > 1 && $2 > 0 { k = $2 - 1 < 5 ? int((5 - $2) / W) + 1 : 0; if ($7 != k * b) exit 1; n++ }
    END { exit !(n == 3 * W) }' "$1/ranks.csv"
}
for np in $ranks; do
  [[ $np == 2 ]] && continue # one client rank: both placements are the same
  run $np --set sparsity.method=snip --set sparsity.density=0.1 --set run.placement=block \
    --out "$tmp/b$np" 2>"$tmp/b$np.err"
  rc=$?
  check '[[ $rc == 0 ]]' "placement=block on $np ranks failed: $(tail -2 "$tmp/b$np.err")"
  check 'cmp -s <(cols "$tmp/r$np") <(cols "$tmp/b$np")' \
    "placement=block on $np ranks: metrics differ from balanced: $(diff <(cols "$tmp/r$np") <(cols "$tmp/b$np") | head -3 | tr '\n' ' ')"
  check 'cmp -s "$tmp/r$np/mask.csv" "$tmp/b$np/mask.csv"' "placement=block on $np ranks: another mask"
  check 'dealt "$tmp/r$np" $np' "balanced on $np ranks: ranks.csv bytes per client rank: $(cut -d, -f1,2,7 "$tmp/r$np/ranks.csv" | tr '\n' ' ')"
  check '! dealt "$tmp/b$np" $np' "block on $np ranks trained as balanced would: the check above cannot tell them apart"
done

# --- SSFL with ResNet-20 (BatchNorm: its statistics travel too) on synthetic-cifar (3x32x32,
# crop_flip augmentation by default) on 3 and 5 ranks, and on 1 and 2 threads: the same metrics
# bit for bit; bytes per upload are nnz weights + the state floats ---
rn=(--set model.arch=resnet20 --set model.norm=batch --set data.dataset=synthetic-cifar
    --set data.synth_train=60 --set data.synth_test=20
    --set train.batch=12 --set data.clients=6 --set run.rounds=2 --set sparsity.method=snip
    --set sparsity.density=0.2)
rn_runs=("3 1" "5 1" "3 2")
sanitized && rn_runs=("3 2")
for v in "${rn_runs[@]}"; do
  read -r np th <<<"$v"
  run $np "${rn[@]}" --set run.threads=$th --out "$tmp/rn${np}t$th" 2>"$tmp/rn.err"
  rc=$?
  check '[[ $rc == 0 ]]' "resnet20 SSFL on $np ranks, $th threads failed: $(tail -2 "$tmp/rn.err")"
done
for v in rn5t1 rn3t2; do
  sanitized && break
  check 'cmp -s <(cols "$tmp/rn3t1" | sed "2s/,[0-9]*,\([^,]*\)$/,X,\1/") <(cols "$tmp/$v" | sed "2s/,[0-9]*,\([^,]*\)$/,X,\1/")' \
    "resnet20 SSFL metrics of $v differ from 3 ranks, 1 thread"
done
read -r np th <<<"${rn_runs[0]}"
rn_nnz=$(json "$tmp/rn${np}t$th" nnz)
row=$(sed -n 3p "$tmp/rn${np}t$th/metrics.csv")
check '[[ $(cut -d, -f6 <<<"$row") == $((3 * (rn_nnz + 1589) * 4)) ]]' \
  "resnet20-bn upload bytes: $row (expected 3 clients x ($rn_nnz weights + 1589 state floats))"

# --- bytes: round 0 = every client's scores up + the bit mask down; then 2 x m x nnz x 4 ---
n=$(json "$tmp/r3" parameters) nnz=$(json "$tmp/r3" nnz)
check '[[ -n $n && -n $nnz && $nnz -lt $n ]]' "summary.json lacks parameters/nnz"
check '[[ $(json "$tmp/r3" rounds) == 3 ]]' "summary.json rounds $(json "$tmp/r3" rounds), want 3 (round 0 is not a round)"
l5=$(awk -F, 'NR > 2 && $2 != "" {s += $2; k++} NR == 2 {s0 = $2} END {printf "%.17g", (s + s0) / (k + 1)}' "$tmp/r3/metrics.csv")
check 'awk -v a="$(json "$tmp/r3" last5_test_acc)" -v b="$l5" "BEGIN { exit !(a - b < 1e-12 && b - a < 1e-12) }"' \
  "last5_test_acc $(json "$tmp/r3" last5_test_acc) != mean of the 4 evaluations $l5"
up0=$(sed -n 2p "$tmp/r3/metrics.csv" | cut -d, -f6) down0=$(sed -n 2p "$tmp/r3/metrics.csv" | cut -d, -f7)
check '[[ $up0 == $((10 * n * 4)) && $down0 == $((2 * ((n + 7) / 8))) ]]' \
  "round 0 bytes $up0/$down0, expected $((10 * n * 4))/$((2 * ((n + 7) / 8)))"
for r in 3 4 5; do
  row=$(sed -n ${r}p "$tmp/r3/metrics.csv")
  check '[[ $(cut -d, -f6 <<<"$row") == $((5 * nnz * 4)) && $(cut -d, -f7 <<<"$row") == $((5 * nnz * 4)) ]]' \
    "round $((r - 2)) bytes: $row (expected 5 clients x $nnz floats each way)"
done
# --- the server aggregates in O(model): two receive slots (floats) and a double accumulator,
# 16 bytes per message float (mlp: nnz weights, no state), whether 5 or all 10 clients upload ---
agg() { sed -n 's/^salient: server: aggregation buffers \([0-9]*\) bytes.*/\1/p' "$1"; }
run 3 --set sparsity.method=snip --set sparsity.density=0.1 --set train.sample_fraction=1 \
  --set run.rounds=1 --out "$tmp/all10" 2>"$tmp/all10.err"
rc=$?
check '[[ $rc == 0 && $(agg "$tmp/r3.err") == $((16 * nnz)) && $(agg "$tmp/all10.err") == $((16 * nnz)) ]]' \
  "server aggregation bytes: 5 clients $(agg "$tmp/r3.err"), 10 clients $(agg "$tmp/all10.err") (rc $rc), expected $((16 * nnz)) for both"
check '[[ $(sed -n 3p "$tmp/all10/metrics.csv" | cut -d, -f6) == $((10 * nnz * 4)) ]]' \
  "10 sampled clients: round 1 bytes_up $(sed -n 3p "$tmp/all10/metrics.csv" | cut -d, -f6)"
dens=$(sed -n 3p "$tmp/r3/metrics.csv" | cut -d, -f5)
check 'awk -v d="$dens" -v a="$nnz" -v b="$n" "BEGIN { exit !(d == a / b) }"' "density $dens != nnz/n"
check 'awk -F, "NR == 5 && \$2 > 0.3 { good = 1 } END { exit !good }" "$tmp/r3/metrics.csv"' \
  "SSFL did not learn: $(cut -d, -f1-2 "$tmp/r3/metrics.csv" | tr '\n' ' ')"

# --- the watchdog counts waits, not compute: every evaluation 5 s long (SALIENT_FAULT=
# slow-eval:all), comm_timeout 2 s (client ranks wait 2 x 2 s for the server): the client ranks
# evaluate the broadcast model beside the server, so nobody waits and the run ends normally, with
# metrics equal to an undisturbed run's. The server alone slow: a client rank times out naming it ---
se=(--set sparsity.method=snip --set sparsity.density=0.2 --set run.rounds=1 --set run.comm_timeout=2)
SALIENT_FAULT=slow-eval:all run 3 "${se[@]}" --out "$tmp/slow" 2>"$tmp/slow.err"
rc=$?
run 3 "${se[@]}" --out "$tmp/fast" 2>/dev/null
check '[[ $rc == 0 ]] && awk -F, "NR == 3 && \$11 >= 5 { ok = 1 } END { exit !ok }" "$tmp/slow/metrics.csv" && cmp -s <(cols "$tmp/slow") <(cols "$tmp/fast")' \
  "slow evaluation on every rank: rc $rc (want 0, round 1 >= 5 s, metrics as without): $(grep -m1 'no progress' "$tmp/slow.err")"
SALIENT_FAULT=slow-eval:0 run 3 "${se[@]}" --out "$tmp/slow0" 2>"$tmp/slow0.err"
rc=$?
check '[[ $rc != 0 ]] && grep -q "^salient: rank [12] on [^ ]*: no progress for [0-9]* s in the server.s next message (round 1), waiting for rank 0" "$tmp/slow0.err"' \
  "the server alone slow: rc $rc, want a client rank's timeout line: $(grep -m1 'no progress' "$tmp/slow0.err")"

# --- FedAvg with one client and full participation is plain SGD, bit for bit ---
common=(--set train.momentum=0 --set train.weight_decay=0.001 --set train.clip=2
        --set train.lr_decay=0.9 --set run.rounds=3)
"$bin" train "$smoke" "${common[@]}" --out "$tmp/c1" 2>/dev/null
mpirun -np 2 "$bin" train "$smoke" "${common[@]}" --set train.algorithm=fedavg \
  --set data.clients=1 --set train.sample_fraction=1 --out "$tmp/f1" 2>/dev/null
check 'cmp -s <(cut -d, -f1-5,12 "$tmp/c1/metrics.csv") <(cut -d, -f1-5,12 "$tmp/f1/metrics.csv" | sed 2d)' \
  "fedavg of one client differs from centralized SGD"

# --- every method runs and keeps exactly round(density x prunable) (global) ---
for m in random erk magnitude grasp synflow; do
  run 3 --set sparsity.method=$m --set sparsity.density=0.2 --set sparsity.synflow_iters=10 \
    --set run.rounds=1 --out "$tmp/m$m" 2>"$tmp/m$m.err"
  rc=$?
  check '[[ $rc == 0 ]]' "method $m failed: $(tail -2 "$tmp/m$m.err")"
  kept=$(awk -F, '$1 ~ /weight/ { k += $3; t += $2 } END { print k "/" t }' "$tmp/m$m/mask.csv")
  check '[[ $kept == 53240/266200 ]]' "method $m kept $kept prunable weights, expected 53240/266200"
done
check '! cmp -s "$tmp/mrandom/mask.csv" "$tmp/merk/mask.csv"' "erk and random gave the same layer densities"

# --- errors (rc is taken at once: a $(...) in a message would reset $?) ---
# one line on stderr, a config exit code, no traceback from other ranks ---
mpirun -np 1 "$bin" train "$smoke" "${fed[@]}" --out "$tmp/e1" 2>"$tmp/e1.err"
rc=$?
check '[[ $rc != 0 ]] && grep -q "needs at least 2 MPI ranks" "$tmp/e1.err"' "1 rank: $(cat "$tmp/e1.err")"
run 5 --set data.clients=3 --out "$tmp/e2" 2>"$tmp/e2.err"
rc=$?
check '[[ $rc != 0 ]] && [[ $(grep -c "salient train:" "$tmp/e2.err") == 1 ]] && grep -q "run at most 4 ranks" "$tmp/e2.err"' \
  "5 ranks for 3 clients: $(cat "$tmp/e2.err")"
mpirun -np 2 "$bin" train "$smoke" --out "$tmp/e3" 2>"$tmp/e3.err"
rc=$?
check '[[ $rc != 0 ]] && grep -q "centralized runs on one rank" "$tmp/e3.err"' "centralized on 2 ranks: $(cat "$tmp/e3.err")"
"$bin" train "$smoke" --set sparsity.method=snip --set sparsity.density=0.5 --out "$tmp/e4" 2>"$tmp/e4.err"
rc=$?
check '[[ $rc == 2 ]] && grep -q "needs a distributed \[train\] algorithm" "$tmp/e4.err" && [[ ! -e $tmp/e4 ]]' \
  "snip with centralized: $(cat "$tmp/e4.err")"
run 3 --set train.lr=90 --set train.momentum=0.99 --out "$tmp/e5" 2>"$tmp/e5.err"
rc=$?
check '[[ $rc != 0 ]] && [[ $(grep -c "salient train:" "$tmp/e5.err") == 1 ]] && grep -q "not finite" "$tmp/e5.err"' \
  "divergence: $(tail -3 "$tmp/e5.err")"
check '! ls "$tmp/e5" | grep -q tmp' "a diverged run left temporary files"

# a bad key under mpirun: every rank parses it, one line reports it
run 3 --set train.lr=fast --out "$tmp/e6" 2>"$tmp/e6.err"
rc=$?
check '[[ $rc != 0 ]] && [[ $(grep -c "salient train:" "$tmp/e6.err") == 1 ]] && [[ ! -e $tmp/e6 ]]' \
  "bad key on 3 ranks: $(cat "$tmp/e6.err")"

finish cli_fedavg
