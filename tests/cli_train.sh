#!/usr/bin/env bash
# cli_train.sh - drives the real binary: outputs of `salient train`, determinism, --help, and
# bad inputs (exit code 2, one clear line, nothing written). Usage: cli_train.sh SALIENT SRCDIR
bin=$1 src=$2
source "$(dirname "$0")/lib.sh"
smoke="$src/jobs/configs/smoke.ini"

# --- a run writes the three outputs with the promised columns ---
"$bin" train "$smoke" --out "$tmp/a" 2>"$tmp/a.err"
rc=$? # taken at once: the $(...) in check's message would reset $?
check '[[ $rc == 0 ]]' "smoke run failed: $(cat "$tmp/a.err")"
for f in config.ini metrics.csv summary.json; do check "[[ -s $tmp/a/$f ]]" "missing $f"; done
head -1 "$tmp/a/metrics.csv" >"$tmp/header"
for col in round test_acc test_loss train_loss density bytes_up bytes_down comm_s compute_s wall_s; do
  check "tr ',' '\n' <$tmp/header | grep -qx $col" "metrics.csv lacks column $col"
done
check '[[ $(wc -l <"$tmp/a/metrics.csv") == 3 ]]' "metrics.csv should have a header and 2 rows"
check 'grep -q "^round 2/2 .*test_acc .*up 0.00 MB .*samples/s .*ETA" "$tmp/a.err"' "no progress line per round"
check 'grep -q "\"final_test_acc\"" "$tmp/a/summary.json"' "summary.json lacks final_test_acc"
# a dense centralized run names no key that did not apply to it, and numbers in their shortest
# form (no padding zeros: "0.0123", not "0.012300")
check '! grep -Eq "\"(method|scope|source|target_density|clients|final_client_acc_mean)\"" "$tmp/a/summary.json"' \
  "summary.json of a dense centralized run names keys that did not apply: $(head -2 "$tmp/a/summary.json" | tail -1)"
check '! grep -oE "\": -?[0-9]+\.[0-9]+" "$tmp/a/summary.json" | grep -q "0$"' \
  "summary.json numbers not in the shortest form: $(grep -oE '": -?[0-9]+\.[0-9]+' "$tmp/a/summary.json" | grep '0$' | head -2)"
padded=$(awk -F, 'FNR > 1 { for (i = 1; i <= NF; i++) if ($i ~ /^-?[0-9]+\.([0-9]*0)?$/) print FILENAME ": " $i }' \
  "$tmp/a/metrics.csv" "$tmp/a/ranks.csv" | head -3)
check '[[ -z $padded ]]' "CSV numbers with padding zeros: $padded"
check 'ls -A "$tmp/a" | grep -q tmp; [[ $? != 0 ]]' "temporary files left in the output dir"

# --- determinism: same config and seed give identical training metrics (not timings) ---
"$bin" train "$smoke" --out "$tmp/b" 2>/dev/null
cut -d, -f1-7,12 "$tmp/a/metrics.csv" >"$tmp/a.cols"
cut -d, -f1-7,12 "$tmp/b/metrics.csv" >"$tmp/b.cols"
check 'cmp -s "$tmp/a.cols" "$tmp/b.cols"' "two identical runs gave different metrics"
"$bin" train "$smoke" --out "$tmp/c" --set run.seed=2 2>/dev/null
cut -d, -f1-7,12 "$tmp/c/metrics.csv" >"$tmp/c.cols"
check '! cmp -s "$tmp/a.cols" "$tmp/c.cols"' "a different seed gave the same metrics"

# --- the resolved config.ini reproduces the run ---
"$bin" train "$tmp/a/config.ini" --out "$tmp/d" 2>/dev/null
cut -d, -f1-7,12 "$tmp/d/metrics.csv" >"$tmp/d.cols"
check 'cmp -s "$tmp/a.cols" "$tmp/d.cols"' "re-running the written config.ini differs"

# --- a directory that holds a run's results is refused and kept; --force overwrites it ---
snapdir() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0r md5sum && find . -type l -printf '%p -> %l\n' | sort); }
"$bin" train "$smoke" --set run.rounds=4 --set checkpoint.every=1 --set checkpoint.keep=10 --out "$tmp/o" 2>/dev/null
before=$(snapdir "$tmp/o")
"$bin" train "$smoke" --out "$tmp/o" >"$tmp/o.out" 2>"$tmp/o.err"
rc=$?
check '[[ $rc == 2 && $(wc -l <"$tmp/o.err") == 1 && ! -s $tmp/o.out ]] && grep -q "^salient train: output directory .*/o. already holds results (metrics.csv); continue that run with --resume latest, overwrite it with --force, or choose another --out$" "$tmp/o.err"' \
  "a rerun into a run's directory: rc $rc: $(cat "$tmp/o.err")"
check '[[ -n $before && $(snapdir "$tmp/o") == "$before" ]]' "a refused rerun changed the run's directory"
"$bin" train "$smoke" --out "$tmp/o" --force 2>/dev/null
rc=$?
check '[[ $rc == 0 ]] && cmp -s <(cut -d, -f1-7,12 "$tmp/o/metrics.csv") "$tmp/a.cols"' "--force: rc $rc, or its metrics differ from a fresh run's"
# the old run's later checkpoints are gone, so keep and --resume latest see the new run's only
check '[[ ! -e $tmp/o/ckpt/round-000004.h5 && ! -e $tmp/o/ckpt/round-000003.h5 && $(readlink "$tmp/o/ckpt/latest") == round-000002.h5 ]]' \
  "--force left the old run's checkpoints: $(ls "$tmp/o/ckpt" | tr '\n' ' ')"

# --- the longest --out Open MPI's MPI-IO takes (checkpoint names of 244 characters on 1 rank;
# cli_badinput refuses 245) trains and checkpoints: the limit is exact, not a guess ---
long="$tmp/$(printf 'k%.0s' $(seq $((218 - ${#tmp} - 1))))"
"$bin" train "$smoke" --set run.rounds=1 --out "$long" 2>"$tmp/long.err"
rc=$?
check '[[ $rc == 0 && -s $long/ckpt/round-000001.h5 && ${#long} == 218 ]]' \
  "--out of 218 characters: rc $rc: $(tail -1 "$tmp/long.err")"

# --- two runs into one directory at once: the second is refused, naming the lock's holder ---
"$bin" train "$smoke" --set run.rounds=1000000 --set checkpoint.every=0 --out "$tmp/busy" 2>/dev/null &
busy=$!
for _ in $(seq 300); do [[ -s $tmp/busy/metrics.csv ]] && break; sleep 0.1; done
"$bin" train "$smoke" --out "$tmp/busy" --force >/dev/null 2>"$tmp/busy.err"
rc=$?
check '[[ $rc == 2 && $(wc -l <"$tmp/busy.err") == 1 ]] && grep -q "output directory .*/busy. is in use: process $busy holds its lock .*/busy/\.salient\.lock.; wait for that run to end, or choose another --out" "$tmp/busy.err"' \
  "a second run into a busy directory: rc $rc: $(cat "$tmp/busy.err")"
kill -TERM "$busy"
wait "$busy"
rc=$?
check '[[ $rc == 0 && -e $tmp/busy/ckpt/latest ]]' "the first run did not stop with a checkpoint after the second was refused (rc $rc)"
"$bin" train "$smoke" --set checkpoint.every=0 --set run.rounds=$(($(tail -1 "$tmp/busy/metrics.csv" | cut -d, -f1) + 1)) \
  --out "$tmp/busy" --resume latest 2>"$tmp/busy2.err"
rc=$?
check '[[ $rc == 0 ]]' "the lock outlived its run: resume failed (rc $rc): $(tail -1 "$tmp/busy2.err")"

# --- help lists every key with defaults ---
"$bin" --help >"$tmp/help" 2>&1
check '[[ $? == 0 ]]' "salient --help failed"
"$bin" train --help >"$tmp/thelp" 2>&1
for key in seed rounds out dataset path partition alpha shards_per_client clients arch algorithm \
           local_epochs batch lr momentum weight_decay sample_fraction method density scope; do
  check "grep -qw $key $tmp/help && grep -qw $key $tmp/thelp" "--help does not list $key"
done

# --- docs/user-guide.md carries the same key table as --help (regenerate it if this fails) ---
sed -n '/^Config keys/,/^```/p' "$src/docs/user-guide.md" | sed '$d' >"$tmp/guide.keys"
sed -n '/^Config keys/,$p' "$tmp/help" >"$tmp/help.keys"
check 'cmp -s "$tmp/guide.keys" "$tmp/help.keys"' "docs/user-guide.md key table differs from salient --help"

# --- bad input: exit 2, exactly one line naming the culprit, nothing written ---
expect_bad() { # name, expected substring, args...
  local name=$1 want=$2; shift 2
  rm -rf "$tmp/bad"
  "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  check "[[ $rc == 2 ]]" "$name: exit code $rc, want 2"
  check '[[ $(wc -l <"$tmp/err") == 1 ]]' "$name: want one error line, got: $(cat "$tmp/err")"
  check "grep -qF -- \"$want\" \"$tmp/err\"" "$name: message lacks '$want': $(cat "$tmp/err")"
  check '[[ ! -e "$tmp/bad/metrics.csv" ]]' "$name: metrics.csv written despite the error"
}
printf '[train]\nlr = fast\n' >"$tmp/badlr.ini"
expect_bad "bad number" "lr" train "$tmp/badlr.ini" --out "$tmp/bad"
printf '[trian]\nlr = 0.1\n' >"$tmp/badsec.ini"
expect_bad "unknown section" "trian" train "$tmp/badsec.ini" --out "$tmp/bad"
printf '[model]\narch = resnet\n' >"$tmp/badarch.ini"
expect_bad "bad enum" "mlp" train "$tmp/badarch.ini" --out "$tmp/bad"
expect_bad "missing config" "nope.ini" train "$tmp/nope.ini" --out "$tmp/bad"
expect_bad "bad --set" "batch" train "$smoke" --set train.batch=0 --out "$tmp/bad"
expect_bad "missing data" "$tmp/nodata" train "$smoke" --set data.dataset=mnist \
  --set data.path="$tmp/nodata" --out "$tmp/bad"
expect_bad "unknown option" "--frobnicate" train "$smoke" --frobnicate
expect_bad "unknown command" "frob" frob

# --- salient data prints per-client counts ---
"$bin" data "$smoke" --set data.clients=4 --set data.partition=shards >"$tmp/data.out" 2>&1
rc=$?
check '[[ $rc == 0 ]]' "salient data failed: $(cat "$tmp/data.out")"
check '[[ $(grep -cE "^[0-3] " "$tmp/data.out") == 4 ]]' "salient data should list 4 clients"

finish cli_train
