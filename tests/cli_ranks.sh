#!/usr/bin/env bash
# cli_ranks.sh - OUT/ranks.csv (one row per rank per round, consistent with metrics.csv, cut back
# to the checkpoint's round on resume) and [run] check_collectives (a rank whose sequence of
# exchanges differs, injected by SALIENT_SKEW_AT_ROUND, stops the run naming the rank and the
# round; a clean run computes the same metrics with the check on as off).
# Usage: cli_ranks.sh SALIENT SRCDIR
bin=$1 src=$2
source "$(dirname "$0")/lib.sh"
smoke="$src/jobs/configs/smoke.ini"
cols() { cut -d, -f1-7,12,14-16 "$1/metrics.csv"; } # the columns that are not timings
run() { timeout 120 mpirun -np 3 "$bin" train "$smoke" "$@"; }

# rows_ok DIR ROUND0 ROUNDS RANKS: header, then rounds ROUND0..ROUNDS x ranks 0..RANKS-1 in
# order, 7 fields, a host name in each
rows_ok() {
  awk -F, -v r0="$2" -v R="$3" -v P="$4" '
    NR == 1 { if ($0 != "round,rank,host,compute_s,comm_s,wait_s,bytes") exit 1; next }
    { i = NR - 2; if (NF != 7 || $1 != r0 + int(i / P) || $2 != i % P || $3 == "") exit 1 }
    END { if (NR - 1 != (R - r0 + 1) * P) exit 1 }' "$1/ranks.csv"
}
# sums_ok DIR: per round, the ranks' bytes add up to metrics.csv's bytes_up + bytes_down
sums_ok() {
  awk -F, 'FNR == 1 { next }
    NR == FNR { want[$1] = $6 + $7; next }
    { got[$1] += $7 }
    END { n = 0; for (r in got) { n++; if (got[r] != want[r]) exit 1 } if (!n) exit 1 }' \
    "$1/metrics.csv" "$1/ranks.csv"
}

# --- dpsgd on 3 ranks: 3 rounds x 3 ranks; bytes add up; the row's compute_s is the busiest
# rank's, its comm_s every rank's (the least time any rank spent in exchanges) ---
d=(--set train.algorithm=dpsgd --set data.clients=6 --set run.rounds=3)
run "${d[@]}" --out "$tmp/d" 2>"$tmp/d.err"
rc=$?
check '[[ $rc == 0 ]]' "dpsgd: rc $rc: $(tail -2 "$tmp/d.err")"
check 'rows_ok "$tmp/d" 1 3 3' "dpsgd: ranks.csv rows: $(head -4 "$tmp/d/ranks.csv" | tr '\n' ' ')"
check 'sums_ok "$tmp/d"' "dpsgd: the ranks' bytes do not add up to bytes_up + bytes_down"
check 'awk -F, "FNR == 1 { next } NR == FNR { c[\$1] = \$10; k[\$1] = \$8; next }
  { if (\$5 != k[\$1]) exit 1; if (\$4 > m[\$1]) m[\$1] = \$4 }
  END { for (r in c) if (m[r] != c[r]) exit 1 }" "$tmp/d/metrics.csv" "$tmp/d/ranks.csv"' \
  "dpsgd: ranks.csv compute_s/comm_s disagree with metrics.csv"

# --- fedavg: server and 2 client ranks, rounds 1..3 (round 0, the mask, is metrics.csv's);
# the server sends the downloads, the clients the uploads ---
f=(--set train.algorithm=fedavg --set data.clients=5 --set train.sample_fraction=0.6
   --set run.rounds=3)
run "${f[@]}" --out "$tmp/f" 2>"$tmp/f.err"
rc=$?
check '[[ $rc == 0 ]]' "fedavg: rc $rc: $(tail -2 "$tmp/f.err")"
check 'rows_ok "$tmp/f" 1 3 3' "fedavg: ranks.csv rows: $(head -4 "$tmp/f/ranks.csv" | tr '\n' ' ')"
check 'sums_ok "$tmp/f"' "fedavg: the ranks' bytes do not add up to bytes_up + bytes_down"
check 'awk -F, "FNR == 1 { next } NR == FNR { d[\$1] = \$7; next } \$2 == 0 && \$7 != d[\$1] { exit 1 }" \
  "$tmp/f/metrics.csv" "$tmp/f/ranks.csv"' "fedavg: rank 0's bytes are not bytes_down"

# --- centralized: one rank, no bytes ---
"$bin" train "$smoke" --out "$tmp/c" 2>/dev/null
check 'rows_ok "$tmp/c" 1 2 1 && awk -F, "NR > 1 && (\$5 != 0 || \$7 != 0) { exit 1 }" "$tmp/c/ranks.csv"' \
  "centralized: ranks.csv: $(cat "$tmp/c/ranks.csv" | tr '\n' ' ')"

# --- resume: rank 1 killed as round 4 starts, checkpoint at round 2, a torn row at the end;
# the resumed run (with check_collectives on: a key that may change) has each row once ---
k=(--set train.algorithm=dpsgd --set data.clients=6 --set run.rounds=5 --set checkpoint.every=2)
SALIENT_KILL_AT_ROUND=4:1 run "${k[@]}" --out "$tmp/k" 2>/dev/null
check 'grep -q "^3,2," "$tmp/k/ranks.csv"' "killed run: round 3 is not in ranks.csv"
printf '4,0,torn' >>"$tmp/k/ranks.csv"
run "${k[@]}" --set run.check_collectives=true --out "$tmp/k" --resume latest 2>"$tmp/k.err"
rc=$?
check '[[ $rc == 0 ]]' "resume: rc $rc: $(tail -2 "$tmp/k.err")"
check 'rows_ok "$tmp/k" 1 5 3' "resume: ranks.csv rows: $(cut -d, -f1,2 "$tmp/k/ranks.csv" | tr '\n' ' ')"

# --- check_collectives: a clean run computes the same metrics with the check on ---
run "${d[@]}" --set run.check_collectives=true --out "$tmp/don" 2>/dev/null
check 'cmp -s <(cols "$tmp/d") <(cols "$tmp/don")' "check_collectives=true changed the metrics"

# --- dpsgd: rank 1 enters one extra exchange in round 2. Unchecked, the run completes with the
# same metrics; checked, it stops after round 2 naming rank 1, round 2 and the call ---
SALIENT_SKEW_AT_ROUND=2:1 run "${d[@]}" --out "$tmp/s0" 2>/dev/null
rc=$?
check '[[ $rc == 0 ]] && cmp -s <(cols "$tmp/d") <(cols "$tmp/s0")' "the skew alone changed the run (rc $rc)"
SALIENT_SKEW_AT_ROUND=2:1 run "${d[@]}" --set run.check_collectives=true --out "$tmp/s1" 2>"$tmp/s1.err"
rc=$?
line=$(grep "check_collectives:" "$tmp/s1.err")
check '[[ $rc == 1 ]]' "dpsgd skew: rc $rc (want 1, within the timeout)"
check '[[ $line == "salient train: check_collectives: rank 1 (host "*") diverged in round 2: its call "*" was \"an exchange injected by SALIENT_SKEW_AT_ROUND\", rank 0'"'"'s was \"the step-count allreduce\"" ]]' \
  "dpsgd skew: the line: '$line'"
check '[[ $(grep -c "check_collectives:" "$tmp/s1.err") == 1 ]]' "dpsgd skew: not one line"
check '! grep -q "^2," "$tmp/s1/metrics.csv"' "dpsgd skew: the diverged round was logged"

# --- fedavg: client rank 2 in round 3; the server compares with what it saw ---
SALIENT_SKEW_AT_ROUND=3:2 run "${f[@]}" --set run.check_collectives=true --out "$tmp/fs" 2>"$tmp/fs.err"
rc=$?
check '[[ $rc == 1 ]] && grep -q "^salient train: check_collectives: rank 2 (host [^)]*) diverged in round 3: its call 1 was \"an exchange injected by SALIENT_SKEW_AT_ROUND\", the server expected" "$tmp/fs.err"' \
  "fedavg skew: rc $rc: $(grep check_collectives "$tmp/fs.err")"

# --- the key takes false|true only ---
"$bin" train "$smoke" --set run.check_collectives=maybe --out "$tmp/bad" 2>"$tmp/bad.err"
rc=$?
check '[[ $rc == 2 ]] && grep -q "check_collectives" "$tmp/bad.err"' "check_collectives=maybe: rc $rc"

finish cli_ranks
