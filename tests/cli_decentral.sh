#!/usr/bin/env bash
# cli_decentral.sh - algorithm = allreduce | localsgd | dpsgd under mpirun: dpsgd on the complete
# graph and localsgd with sync_every = 1 equal allreduce SGD to float tolerance (all start from
# one model, momentum 0); allreduce keeps the ranks' models identical (consensus 0); metrics are
# bitwise reproducible; bytes per round are what each exchange sends; bad setups fail with one
# line. Usage: cli_decentral.sh SALIENT SRCDIR
bin=$1 src=$2
source "$(dirname "$0")/lib.sh"
smoke="$src/jobs/configs/smoke.ini"
base=(--set data.clients=8 --set data.partition=iid --set run.rounds=3 --set train.momentum=0
      --set train.lr=0.05)
run() { local np=$1 algo=$2 out=$3; shift 3
  mpirun -np "$np" "$bin" train "$smoke" "${base[@]}" --set train.algorithm="$algo" "$@" \
    --out "$tmp/$out" 2>"$tmp/$out.err"; }
# Under ASan (sanitized, tests/lib.sh) each algorithm, graph and exchange runs once; the runs
# that only repeat one (dpsgd on the complete graph, localsgd over MPI_Allreduce beside the one
# over our ring, the same run twice, SNIP at 2 and 4 ranks beside 3, the convex problem on
# ring and exponential graphs) and the checks comparing them are the Release build's.
col() { awk -F, -v c="$2" 'NR > 1 {print $c}' "$tmp/$1/metrics.csv"; }
# |a - b| <= 1e-4 (1 + |b|) for every row of columns test_acc, test_loss, train_loss
close() { paste -d, <(cut -d, -f2-4 "$tmp/$1/metrics.csv") <(cut -d, -f2-4 "$tmp/$2/metrics.csv") |
  awk -F, 'NR > 1 { for (i = 1; i <= 3; i++) { a = $i; b = $(i + 3); d = a - b; if (d < 0) d = -d;
    if (d > 1e-4 * (1 + (b < 0 ? -b : b))) exit 1 } }'; }

run 4 allreduce ar; rc=$?
check '[[ $rc == 0 ]]' "allreduce failed: $(tail -2 "$tmp/ar.err")"
check '[[ $(col ar 14 | sort -u) == 0 ]]' "allreduce: ranks' models differ (consensus $(col ar 14 | tr '\n' ' '))"
check '[[ $(head -1 "$tmp/ar/metrics.csv" | cut -d, -f14-16) == consensus,local_acc_mean,local_acc_min ]]' \
  "metrics.csv lacks the consensus and local accuracy columns"
check 'grep -q "^round 3/3 .*consensus .*up .*MB .*samples/s .*ETA" "$tmp/ar.err"' "no progress line per round"
# (the complete graph and uniform weights are built under ASan by mpi_topo; localsgd with
# sync_every=1 runs there over our ring, ls_ring below)
if ! sanitized; then
  run 4 dpsgd dp_complete --set topology.graph=complete --set topology.weights=uniform; rc=$?
  check '[[ $rc == 0 ]] && close dp_complete ar' "dpsgd on the complete graph differs from allreduce SGD: $(cut -d, -f2-4 "$tmp/dp_complete/metrics.csv" | tr '\n' ' ') vs $(cut -d, -f2-4 "$tmp/ar/metrics.csv" | tr '\n' ' ')"
  run 4 localsgd ls1 --set train.sync_every=1; rc=$?
  check '[[ $rc == 0 ]] && close ls1 ar' "localsgd with sync_every=1 differs from allreduce SGD"
fi
run 4 dpsgd dp_ring; rc=$?
check '[[ $rc == 0 ]] && awk -F, "NR > 1 && \$14 <= 0 { exit 1 }" "$tmp/dp_ring/metrics.csv"' \
  "dpsgd on a ring: the models should differ (consensus > 0): $(col dp_ring 14 | tr '\n' ' ')"

# --- determinism: the same run twice gives the same bits (timings aside; Release only) ---
if ! sanitized; then
  run 4 dpsgd dp_ring2; cmp -s <(cut -d, -f1-7,12,14-16 "$tmp/dp_ring/metrics.csv") <(cut -d, -f1-7,12,14-16 "$tmp/dp_ring2/metrics.csv")
  rc=$?
  check '[[ $rc == 0 ]]' "dpsgd twice gave different metrics"
fi

# --- bytes: allreduce sends 4n per rank per step; the ring 2 x 4n; the mask 4 nnz ---
n=$(sed -n 's/.*"parameters": \([0-9]*\).*/\1/p' "$tmp/ar/summary.json")
steps=$((512 / 4 / 32))
check '[[ $(col ar 6 | sort -u) == $((steps * 4 * n * 4)) ]]' "allreduce bytes $(col ar 6 | sort -u), expected $((steps * 4 * n * 4))"
check '[[ $(col dp_ring 6 | sort -u) == $((steps * 4 * n * 4 * 2)) ]]' "ring bytes $(col dp_ring 6 | sort -u), expected $((steps * 4 * n * 4 * 2))"
run 4 allreduce ar_mask --set sparsity.method=magnitude --set sparsity.density=0.1 --set comm.compress=mask; rc=$?
nnz=$(sed -n 's/.*"nnz": \([0-9]*\).*/\1/p' "$tmp/ar_mask/summary.json")
# round 1 also carries the mask rank 0 computed (magnitude: no scores) and sent as bits to 3 ranks
check '[[ $rc == 0 && $(col ar_mask 6 | sed 1d | sort -u) == $((steps * 4 * nnz * 4)) ]]' "masked allreduce bytes $(col ar_mask 6 | sort -u), expected $((steps * 4 * nnz * 4))"
check '[[ $(col ar_mask 6 | head -1) == $((steps * 4 * nnz * 4 + 3 * ((n + 7) / 8))) ]]' \
  "masked allreduce round 1 bytes $(col ar_mask 6 | head -1), expected $((steps * 4 * nnz * 4)) + the mask's 3 x $(((n + 7) / 8))"
# --- the SNIP mask of the decentralized algorithms: every client's scores reach rank 0 in
# client-id order and fold into one double sum, rank 0 keeps the top-k and broadcasts the bits:
# the same mask on 2, 3 and 4 ranks (h5dump of the checkpoint's /mask). Round 1's bytes carry
# the exchange: the scores of the clients not on rank 0 (n floats each) and P-1 bit masks.
# Under ASan 3 ranks only (uneven: 2 clients on rank 0, 3 on the others) ---
sn_ranks="2 3 4"
sanitized && sn_ranks=3
for np in $sn_ranks; do
  run $np allreduce sn$np --set sparsity.method=snip --set sparsity.density=0.1 \
    --set comm.compress=mask --set run.rounds=2; rc=$?
  check '[[ $rc == 0 ]]' "snip allreduce on $np ranks: $(tail -2 "$tmp/sn$np.err")"
  r1=$(col sn$np 6 | head -1) r2=$(col sn$np 6 | tail -1) c0=$((8 / np))
  check '[[ $((r1 - r2)) == $(((8 - c0) * n * 4 + (np - 1) * ((n + 7) / 8))) ]]' \
    "snip on $np ranks: round 1 - round 2 bytes $((r1 - r2)), expected $((8 - c0)) clients x $n x 4 + $((np - 1)) x $(((n + 7) / 8))"
done
for np in 3 4; do
  sanitized && break
  check 'cmp -s <(h5dump -g /mask "$tmp/sn2/ckpt/latest" | tail -n +2) <(h5dump -g /mask "$tmp/sn$np/ckpt/latest" | tail -n +2)' \
    "snip mask on $np ranks differs from 2 ranks"
done
# [comm] allreduce = ring: our ring instead of MPI_Allreduce, the same SGD to float tolerance,
# models identical on every rank, sum_r 4 (2n - |B_r+1| - |B_r+2|) = 8n(P-1) bytes per step
run 4 allreduce ar_ring --set comm.allreduce=ring; rc=$?
check '[[ $rc == 0 ]] && close ar_ring ar && [[ $(col ar_ring 14 | sort -u) == 0 ]]' \
  "allreduce over our ring: rc $rc, metrics $(cut -d, -f2-4,14 "$tmp/ar_ring/metrics.csv" | tr '\n' ' ')"
check '[[ $(col ar_ring 6 | sort -u) == $((steps * 8 * n * 3)) ]]' "ring allreduce bytes $(col ar_ring 6 | sort -u), expected $((steps * 8 * n * 3))"
run 4 localsgd ls_ring --set train.sync_every=1 --set comm.allreduce=ring; rc=$?
check '[[ $rc == 0 ]] && close ls_ring ar' "localsgd (sync_every=1) over our ring differs from allreduce SGD"
if ! sanitized; then
  run 4 allreduce ar_ring2 --set comm.allreduce=ring
  check 'cmp -s <(cut -d, -f1-7,12,14-16 "$tmp/ar_ring/metrics.csv") <(cut -d, -f1-7,12,14-16 "$tmp/ar_ring2/metrics.csv")' \
    "allreduce over our ring twice gave different metrics"
fi
# [comm] cost_*: auto's constants from the config. With MPI's bytes dear (cost_beta_coll) a
# half-dense top-k goes through our ring: 4 bytes of counts + 8n(P-1)/P per rank and step
run 4 allreduce ar_tk_ring --set comm.compress=topk --set comm.topk_density=0.5 --set comm.cost_beta_coll=1; rc=$?
check '[[ $rc == 0 && $(col ar_tk_ring 6 | sort -u) == $((steps * (4 * 4 + 8 * n * 3))) ]]' \
  "top-k with cost_beta_coll = 1: rc $rc, bytes $(col ar_tk_ring 6 | sort -u), expected $((steps * (4 * 4 + 8 * n * 3))) (auto through the ring)"
run 4 allreduce ar_topk --set comm.compress=topk --set comm.topk_density=0.01; rc=$?
check '[[ $rc == 0 ]] && (( $(col ar_topk 6 | head -1) < $(col ar 6 | head -1) / 10 ))' "top-k allreduce: rc $rc, bytes $(col ar_topk 6 | head -1)"
check 'awk -F, "NR == 4 && \$4 < 2.2 { good = 1 } END { exit !good }" "$tmp/ar_topk/metrics.csv"' "top-k allreduce does not learn"

# --- a strongly convex problem (L2-regularised logistic regression, non-IID split): every
# algorithm reaches the same optimum; the averaged model's test loss within 2% of allreduce's ---
# (in the sanitizer build: 5 rounds of allreduce and localsgd, the linear model's code under
# ASan/UBSan without the 2% threshold, which the plain build checks; dpsgd on the ring and the
# exponential graph is trained there above and below)
cvx_rounds=100
cvx_specs=("localsgd train.sync_every=4" "dpsgd topology.graph=ring" "dpsgd topology.graph=exponential")
sanitized && cvx_rounds=5 cvx_specs=("localsgd train.sync_every=4")
cvx=(--set model.arch=linear --set data.partition=dirichlet --set train.lr=0.2
     --set train.weight_decay=0.05 --set train.lr_decay=0.95 --set run.rounds=$cvx_rounds
     --set run.eval_every=$cvx_rounds)
run 4 allreduce cv_ar "${cvx[@]}"
ref=$(tail -1 "$tmp/cv_ar/metrics.csv" | cut -d, -f3)
for spec in "${cvx_specs[@]}"; do
  set -- $spec
  run 4 "$1" "cv_$1_${2##*=}" "${cvx[@]}" --set "$2"
  got=$(tail -1 "$tmp/cv_$1_${2##*=}/metrics.csv" | cut -d, -f3)
  if [[ $cvx_rounds == 100 ]]; then
    check 'awk -v a="$got" -v b="$ref" "BEGIN { d = a - b; if (d < 0) d = -d; exit !(b > 0 && d <= 0.02 * b) }"' \
      "convex problem: $spec ends at test loss $got, allreduce at $ref"
  else
    check '[[ -n $got ]]' "convex problem (shortened): $spec wrote no evaluated row"
  fi
done

# --- the watchdog counts waits, not compute: with every evaluation 5 s long (SALIENT_FAULT=
# slow-eval:all; every rank evaluates the average model too) and comm_timeout 2 s, dpsgd ends
# normally; when only rank 1 is slow, its peers wait for it in an exchange and the job ends 124
# with their line (a rank that never arrives) ---
se=(--set data.clients=6 --set run.rounds=1 --set run.comm_timeout=2)
SALIENT_FAULT=slow-eval:all run 3 dpsgd slow "${se[@]}"; rc=$?
check '[[ $rc == 0 ]] && awk -F, "NR == 2 && \$11 >= 10 { ok = 1 } END { exit !ok }" "$tmp/slow/metrics.csv"' \
  "slow evaluation on every rank: rc $rc (want 0, the round >= 10 s: two evaluations), $(grep -m1 'no progress' "$tmp/slow.err")"
SALIENT_FAULT=slow-eval:1 run 3 dpsgd slow1 "${se[@]}"; rc=$?
check '[[ $rc != 0 ]] && grep -q "^salient: rank [02] on [^ ]*: no progress for [0-9]* s in .*(round 1), waiting for all 3 ranks" "$tmp/slow1.err"' \
  "rank 1 alone slow: rc $rc, want the others' timeout line: $(grep -m1 'no progress' "$tmp/slow1.err")"
# The checkpoint's local read-back is not a wait either: 5 s more of it on every rank
# (SALIENT_FAULT=slow-ckpt-verify:all) with comm_timeout 2 s completes; when only rank 1 reads
# back slowly, the others wait for it in the checkpoint's status agreement, and say so ---
ck=(--set data.clients=6 --set run.rounds=1 --set run.comm_timeout=2 --set checkpoint.every=1)
SALIENT_FAULT=slow-ckpt-verify:all run 3 dpsgd slowck "${ck[@]}"; rc=$?
check '[[ $rc == 0 && -s $tmp/slowck/ckpt/round-000001.h5 ]]' \
  "slow read-back on every rank: rc $rc (want 0), $(grep -m1 'no progress' "$tmp/slowck.err")"
SALIENT_FAULT=slow-ckpt-verify:1 run 3 dpsgd slowck1 "${ck[@]}"; rc=$?
check '[[ $rc != 0 ]] && grep -q "^salient: rank [02] on [^ ]*: no progress for [0-9]* s in the checkpoint.s status agreement (round 1), waiting for all 3 ranks" "$tmp/slowck1.err"' \
  "rank 1 alone slow to read back: rc $rc, want the others' timeout line: $(grep -m1 'no progress' "$tmp/slowck1.err")"

# --- errors: one line, non-zero exit ---
mpirun -np 4 "$bin" train "$smoke" --set train.algorithm=allreduce --set data.clients=3 --out "$tmp/e1" 2>"$tmp/e1.err"
rc=$?
check '[[ $rc != 0 ]] && [[ $(grep -c "salient train:" "$tmp/e1.err") == 1 ]] && grep -q "raise \[data\] clients" "$tmp/e1.err"' "3 clients on 4 ranks: $(cat "$tmp/e1.err")"
run 3 dpsgd e2 --set topology.graph=hypercube; rc=$?
check '[[ $rc != 0 ]] && [[ $(grep -c "salient train:" "$tmp/e2.err") == 1 ]] && grep -q "hypercube" "$tmp/e2.err"' "hypercube on 3 ranks: $(cat "$tmp/e2.err")"
"$bin" train "$smoke" --set train.algorithm=allreduce --set comm.compress=mask --out "$tmp/e3" 2>"$tmp/e3.err"
rc=$?
check '[[ $rc == 2 ]] && grep -q "compress = mask needs a \[sparsity\] method" "$tmp/e3.err"' "mask without a method: $(cat "$tmp/e3.err")"

# --- dpsgd's consensus distance contracts at the rate the spectral gap predicts: after round 1
# the learning rate drops to ~0 (step schedule, gamma 1e-30), so each round is 2 pure gossip
# steps and 1/P sum ||x_i - x_bar||^2 shrinks by at most |lambda2|^(2 x 2) (salient topo's
# lambda2); on the ring, whose slowest mode dominates at once, by exactly that (within 2%).
# Under ASan the exponential graph only (dpsgd on the ring runs above: the same code) ---
cons_graphs="ring exponential"
sanitized && cons_graphs=exponential
for g in $cons_graphs; do
  l2=$("$bin" topo --graph $g --nodes 8 | sed -n 's/^lambda2: //p')
  mpirun -np 8 "$bin" train "$smoke" --set train.algorithm=dpsgd --set data.clients=8 \
    --set train.momentum=0 --set run.rounds=6 --set train.lr_schedule=step --set train.lr_step=1 \
    --set train.lr_gamma=1e-30 --set topology.graph=$g --out "$tmp/cons_$g" 2>/dev/null
  # ratios of consecutive rounds from round 3 on, while above float rounding (1e-8)
  rates=$(awk -F, 'NR > 3 && prev > 1e-8 {printf "%s ", $14 / prev} NR > 1 {prev = $14}' "$tmp/cons_$g/metrics.csv")
  lo=0; [[ $g == ring ]] && lo=0.98
  check 'awk -v l="$l2" -v r="$rates" -v lo=$lo "BEGIN { p = l^4; n = split(r, a, \" \"); if (n < 2) exit 1;
    for (i = 1; i <= n; i++) if (a[i] > 1.02 * p || a[i] < lo * p) exit 1 }"' \
    "dpsgd on $g(8): consensus ratios per round $rates, predicted lambda2^4 = $l2^4"
done

# --- salient compare: every algorithm on one split, one table (under ASan without localsgd,
# whose code runs above: compare's loop is the same for every algorithm) ---
algos="allreduce localsgd dpsgd:ring fedavg"
sanitized && algos="allreduce dpsgd:ring fedavg"
mpirun -np 4 "$bin" compare "$smoke" "${base[@]}" --algorithms "$(tr ' ' , <<<"$algos")" \
  --target 0.5 --out "$tmp/cmp" 2>"$tmp/cmp.err"
rc=$?
check '[[ $rc == 0 ]]' "compare failed: $(tail -3 "$tmp/cmp.err")"
check '[[ $(head -1 "$tmp/cmp/summary.csv" | cut -d, -f1-6) == point,algorithm,n_seeds,final_acc_mean,final_acc_std,best_acc_mean ]]' \
  "summary.csv header: $(head -1 "$tmp/cmp/summary.csv")"
check '[[ $(cut -d, -f2 "$tmp/cmp/summary.csv" | tail -n +2 | tr "\n" " ") == "$algos " ]]' \
  "summary.csv rows: $(cut -d, -f2 "$tmp/cmp/summary.csv" | tr '\n' ' ')"
check '[[ $(grep -c "^dpsgd:ring,dpsgd:ring,1,[0-9]" "$tmp/cmp/compare.csv") == 3 && $(grep -c "^fedavg,fedavg,1,[0-9]" "$tmp/cmp/compare.csv") == 4 ]]' \
  "compare.csv: 3 rounds per algorithm (and fedavg's round 0)"
check 'cmp -s <(cut -d, -f1-7 "$tmp/ar/metrics.csv") <(cut -d, -f1-7 "$tmp/cmp/allreduce/metrics.csv")' \
  "compare's allreduce run differs from salient train's"
mpirun -np 2 "$bin" compare "$smoke" --algorithms allreduce,gossip --out "$tmp/cmp2" 2>"$tmp/cmp2.err"
rc=$?
check '[[ $rc == 2 ]] && [[ $(grep -c "salient compare:" "$tmp/cmp2.err") == 1 ]]' "unknown algorithm: $(cat "$tmp/cmp2.err")"
mpirun -np 2 "$bin" compare "$smoke" --algorithms localsgd:ring --out "$tmp/cmp2" 2>"$tmp/cmp2.err"
rc=$?
check '[[ $rc == 2 ]]' "localsgd:ring (no variant) accepted: rc $rc"
# allreduce:topk is allreduce with [comm] compress = topk, the same run as salient train's
mpirun -np 3 "$bin" compare "$smoke" "${base[@]}" --algorithms allreduce:topk --out "$tmp/cmp3" 2>"$tmp/cmp3.err"
mpirun -np 3 "$bin" train "$smoke" "${base[@]}" --set train.algorithm=allreduce --set comm.compress=topk \
  --out "$tmp/tk" 2>/dev/null
check '[[ -s $tmp/cmp3/allreduce-topk/metrics.csv ]] && cmp -s <(cut -d, -f1-7 "$tmp/tk/metrics.csv") <(cut -d, -f1-7 "$tmp/cmp3/allreduce-topk/metrics.csv")' \
  "compare's allreduce:topk differs from salient train with compress = topk: $(tail -1 "$tmp/cmp3.err")"
check '(( $(sed -n 2p "$tmp/tk/metrics.csv" | cut -d, -f6) * 5 < $(sed -n 2p "$tmp/ar/metrics.csv" | cut -d, -f6) ))' \
  "allreduce:topk did not send fewer bytes than dense allreduce"

finish cli_decentral
