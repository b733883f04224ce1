#!/usr/bin/env bash
# cli_client_eval.sh - metrics.csv's client_acc_mean and client_acc_min (the authors' per-client
# evaluation, client_eval.h): with one client, whose test split is the whole test set, they
# equal test_acc (fedavg: the global model) and local_acc_mean (dpsgd on one rank: its own
# model) exactly, which ties the per-sample hits to the loss's own count; with many non-IID
# clients they lie in [0, 1] with min <= mean, in evaluated rounds only; centralized leaves them
# empty and summary.json says -1; a resumed run reproduces them. Usage: cli_client_eval.sh SALIENT SRCDIR
bin=$1 src=$2
source "$(dirname "$0")/lib.sh"
smoke="$src/jobs/configs/smoke.ini"
col() { head -1 "$1/metrics.csv" | tr ',' '\n' | grep -nx "$2" | cut -d: -f1; }
field() { cut -d, -f"$(col "$1" "$2")" "$1/metrics.csv" | tail -n +2; }

# --- one client: the columns equal the whole test set's figures ---
mpirun -np 2 "$bin" train "$smoke" --set train.algorithm=fedavg --set data.clients=1 \
  --set run.rounds=2 --out "$tmp/f1" 2>"$tmp/f1.err"
rc=$?
check '[[ $rc == 0 ]]' "fedavg with one client failed: $(tail -1 "$tmp/f1.err")"
check '[[ $(field "$tmp/f1" client_acc_mean) == $(field "$tmp/f1" test_acc) && $(field "$tmp/f1" client_acc_min) == $(field "$tmp/f1" test_acc) ]]' \
  "fedavg, one client: client_acc $(field "$tmp/f1" client_acc_mean | tr '\n' ' ') != test_acc $(field "$tmp/f1" test_acc | tr '\n' ' ')"
"$bin" train "$smoke" --set train.algorithm=dpsgd --set data.clients=1 --set run.rounds=2 \
  --out "$tmp/d1" 2>"$tmp/d1.err"
rc=$?
check '[[ $rc == 0 && -n $(field "$tmp/d1" client_acc_mean | head -1) ]]' "dpsgd with one client: rc $rc: $(tail -1 "$tmp/d1.err")"
check '[[ $(field "$tmp/d1" client_acc_mean) == $(field "$tmp/d1" local_acc_mean) ]]' \
  "dpsgd, one rank and client: client_acc $(field "$tmp/d1" client_acc_mean | tr '\n' ' ') != local_acc $(field "$tmp/d1" local_acc_mean | tr '\n' ' ')"

# --- many non-IID clients: in range, in evaluated rounds only ---
bounds() { # bounds DIR: every row has both or neither, 0 <= min <= mean <= 1, with test_acc
  awk -F, -v a="$(col "$1" client_acc_mean)" -v b="$(col "$1" client_acc_min)" \
    'NR > 1 { if (($a == "") != ($b == "") || ($a == "") != ($2 == "")) bad = 1
              if ($a != "" && !(0 <= $b && $b <= $a && $a <= 1)) bad = 1; if ($a != "") n++ }
     END { exit bad || n < 2 }' "$1/metrics.csv"
}
n=(--set data.clients=8 --set data.partition=dirichlet --set data.alpha=0.3 --set run.rounds=4
   --set run.eval_every=2)
algs=(fedavg dpsgd)
# under ASan (6x slower) dpsgd's per-client path already ran above, on one rank
[[ ${SALIENT_SANITIZED:-0} == 1 ]] && algs=(fedavg)
for alg in "${algs[@]}"; do
  mpirun -np 3 "$bin" train "$smoke" "${n[@]}" --set train.algorithm=$alg --out "$tmp/$alg" 2>"$tmp/$alg.err"
  rc=$?
  check '[[ $rc == 0 ]] && bounds "$tmp/$alg"' \
    "$alg, 8 clients: rc $rc, client columns: $(cut -d, -f1,2,"$(col "$tmp/$alg" client_acc_mean)"- "$tmp/$alg/metrics.csv" | tr '\n' ' ')"
  check 'grep -q "\"final_client_acc_mean\": $(field "$tmp/$alg" client_acc_mean | tail -1)," "$tmp/$alg/summary.json"' \
    "$alg: summary.json's final_client_acc_mean is not the last row's"
done
# non-IID clients of one global model differ: the minimum is below the mean
check 'awk -F, -v a="$(col "$tmp/fedavg" client_acc_mean)" -v b="$(col "$tmp/fedavg" client_acc_min)" "NR > 1 && \$a != \"\" && \$b < \$a { k = 1 } END { exit !k }" "$tmp/fedavg/metrics.csv"' \
  "fedavg, Dirichlet 0.3: client_acc_min never below the mean"

# --- centralized: no clients, empty columns, no client keys in summary.json ---
"$bin" train "$smoke" --set run.rounds=1 --out "$tmp/c" 2>/dev/null
check '[[ $(tail -1 "$tmp/c/metrics.csv" | awk -F, "{print \$NF \$(NF-1)}") == "" ]] && grep -q "\"final_test_acc\"" "$tmp/c/summary.json" && ! grep -q "final_client_acc" "$tmp/c/summary.json"' \
  "centralized: $(tail -1 "$tmp/c/metrics.csv")"

# --- resumed: the same figures (they are in the checkpoint's /metrics) ---
r=(--set train.algorithm=fedavg --set data.clients=6 --set data.partition=dirichlet --set run.rounds=3
   --set checkpoint.every=1)
mpirun -np 2 "$bin" train "$smoke" "${r[@]}" --out "$tmp/r1" 2>/dev/null
mpirun -np 2 "$bin" train "$smoke" "${r[@]}" --set run.rounds=2 --out "$tmp/r2" 2>/dev/null
mpirun -np 2 "$bin" train "$smoke" "${r[@]}" --out "$tmp/r2" --resume latest 2>"$tmp/r2.err"
rc=$?
check '[[ $rc == 0 ]] && cmp -s <(field "$tmp/r1" client_acc_min) <(field "$tmp/r2" client_acc_min) && cmp -s <(field "$tmp/r1" client_acc_mean) <(field "$tmp/r2" client_acc_mean)' \
  "resumed fedavg: client columns differ (rc $rc): $(field "$tmp/r2" client_acc_mean | tr '\n' ' ') vs $(field "$tmp/r1" client_acc_mean | tr '\n' ' ')"

finish cli_client_eval
