#!/usr/bin/env bash
# cli_ckpt_hostile.sh - a checkpoint from elsewhere is hostile until checked, and a resume on
# other data is refused. Crafted variants of a good checkpoint (tests/ckpt_craft.py, h5py):
# attributes of the wrong type or shape, strings too long, datasets of the wrong dtype, shape or
# size, missing CRCs, a NaN behind a valid CRC, a value changed behind a valid seal (its own CRC
# fails), a seal whose skipped range leaves the file, unknown format versions, changed data and
# split fingerprints; each must be refused by `train --resume` and by `ckpt inspect` with exit 2 and
# one line naming the file and what is wrong (no sanitizer report, which would add lines and
# change the exit code). Then the real thing: the same run resumed on a data directory whose
# test labels differ in one byte is refused, naming the data files.
# Usage: cli_ckpt_hostile.sh SALIENT SRCDIR
bin=$1 src=$2
source "$(dirname "$0")/lib.sh"
smoke="$src/jobs/configs/smoke.ini"
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$src/tests/lsan.supp:fast_unwind_on_malloc=0:print_suppressions=0}
py=/usr/bin/python3 # Debian's h5py lives beside the system Python
tried=0 refused=0
if ! $py -c "import h5py" 2>/dev/null; then
  echo "cli_ckpt_hostile: SKIPPED (no h5py for $py: apt install python3-h5py)"
  exit 77
fi

c=(--set run.rounds=2 --set checkpoint.every=1 --set checkpoint.keep=10)
"$bin" train "$smoke" "${c[@]}" --out "$tmp/g" >/dev/null 2>&1
good=$tmp/g/ckpt/round-000001.h5
mkdir -p "$tmp/cr"
$py "$src/tests/ckpt_craft.py" "$good" "$tmp/cr"
check '[[ $? == 0 ]]' "ckpt_craft.py failed"

header="a header attribute .* is missing, of another type or shape than salient writes, or too long"
while IFS='|' read -r name want; do
  f=$tmp/cr/$name.h5
  tried=$((tried + 1))
  rm -rf "$tmp/r"
  timeout 120 "$bin" train "$smoke" "${c[@]}" --out "$tmp/r" --resume "$f" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  before=$fail
  check '[[ $rc == 2 && $(wc -l <"$tmp/err") == 1 && ! -s $tmp/out ]] && grep -q "^salient train: .*$f.*$want" "$tmp/err"' \
    "$name: train --resume: rc $rc (want 2), want one line matching '$want': $(head -3 "$tmp/err" | cut -c1-300)"
  case $name in data_fp | split_fp) ;; # inspect reads files, not runs: nothing to compare with
  *)
    timeout 120 "$bin" ckpt inspect "$f" >/dev/null 2>"$tmp/ierr"
    rc=$?
    check '[[ $rc == 2 && $(wc -l <"$tmp/ierr") == 1 ]] && grep -q "$f" "$tmp/ierr"' \
      "$name: ckpt inspect: rc $rc (want 2 and one line): $(head -3 "$tmp/ierr" | cut -c1-300)" ;;
  esac
  [[ $fail == "$before" ]] && refused=$((refused + 1))
done <<EOT
attr_type|$header
attr_shape|$header
str_long|$header
str_array|$header
attr_crc_shape|/model/fc3/bias has no crc32c attribute (a scalar integer)
no_crc|/model/fc3/bias has no crc32c attribute (a scalar integer)
no_metrics_crc|/metrics has no crc32c attribute
ds_dtype|/model/fc3/bias is not of type float32
ds_shape|/model/fc3/bias has another shape than this model's fc3.bias
mask_size|/mask/fc1/weight has another shape
metrics_shape|/metrics is not a table
nan_weight|/model/fc3/bias holds a NaN or Inf at \[3\]
crc_flip|/model/fc3/bias fails its CRC-32C
header_crc|its header attributes (round, step, nranks, seed, config, ...) fail their CRC-32C check
world_size|$header
seal_range|its seal's skipped ranges are not inside the file
version_99|has format version 99; this salient reads up to
version_0|has format version 0, which no salient wrote
data_fp|the data files differ from those it was trained on (data fingerprint
split_fp|the clients' split of the data differs from the one it was trained on
EOT
# a format 4 file (ckpt_craft.py's seed) has no world_size: inspect says so and reads on
$py "$src/tests/ckpt_craft.py" --seed "$tmp/v4.h5"
"$bin" ckpt inspect "$tmp/v4.h5" >"$tmp/v4.out" 2>&1
rc=$?
check '[[ $rc == 0 ]] && grep -q "^format_version: 4$" "$tmp/v4.out" && grep -q "^ranks: unknown (written before format 5)$" "$tmp/v4.out" && grep -q "^crc32c: ok$" "$tmp/v4.out"' \
  "format 4 inspect: rc $rc: $(grep -E "^(format_version|ranks|crc32c)" "$tmp/v4.out" | tr '\n' ' ') $(tail -1 "$tmp/v4.out")"
# the good file still resumes (the checks refuse what they should only)
rm -rf "$tmp/r"
"$bin" train "$smoke" "${c[@]}" --out "$tmp/r" --resume "$good" >/dev/null 2>"$tmp/err"
rc=$?
check '[[ $rc == 0 ]]' "the good checkpoint does not resume: $(tail -1 "$tmp/err")"

# --- format 3: /metrics without the per-client columns (added in 4) reads (HDF5 converts the
# compound by member names), its CRC over the fields it holds; the restored rows leave those
# columns empty ---
rm -rf "$tmp/r"
"$bin" train "$smoke" "${c[@]}" --out "$tmp/r" --resume "$tmp/cr/metrics_v3.h5" >/dev/null 2>"$tmp/err"
rc=$?
check '[[ $rc == 0 && $(sed -n 2p "$tmp/r/metrics.csv" | cut -d, -f17-18) == "," ]]' \
  "a format-3 checkpoint does not resume as one: rc $rc: $(tail -1 "$tmp/err")"

# --- format 2 (before fingerprints): readable, except where what changed since makes it another
# run: a fedavg run on a balanced Dirichlet split (partition version 1 then) is refused ---
rm -rf "$tmp/r"
"$bin" train "$smoke" "${c[@]}" --out "$tmp/r" --resume "$tmp/cr/version_2.h5" >/dev/null 2>"$tmp/err"
rc=$?
check '[[ $rc == 0 ]]' "a format-2 checkpoint of a centralized run does not resume: $(tail -1 "$tmp/err")"
b=(--set train.algorithm=fedavg --set data.partition=dirichlet_balanced --set data.clients=4)
mpirun -np 2 "$bin" train "$smoke" "${b[@]}" "${c[@]}" --out "$tmp/b" >/dev/null 2>&1
mkdir -p "$tmp/cb"
$py "$src/tests/ckpt_craft.py" "$tmp/b/ckpt/round-000001.h5" "$tmp/cb" >/dev/null
tried=$((tried + 1)) before=$fail
mpirun -np 2 "$bin" train "$smoke" "${b[@]}" "${c[@]}" --out "$tmp/b2" --resume "$tmp/cb/version_2.h5" \
  >/dev/null 2>"$tmp/err"
rc=$?
check '[[ $rc == 2 && $(grep -c "^salient train:" "$tmp/err") == 1 ]] && grep -q "dirichlet_balanced split (partition version 1) differs" "$tmp/err"' \
  "format-2 balanced-Dirichlet checkpoint: rc $rc, want the split named: $(grep salient "$tmp/err" | head -2)"
[[ $fail == "$before" ]] && refused=$((refused + 1))

# --- a checkpoint without a seal (format 3 and older: the crafted format-2 file without its user
# block) is refused, naming `salient ckpt seal`; the sealed copy resumes; seal never overwrites ---
ub=$($py -c 'import sys, h5py; print(h5py.File(sys.argv[1], "r").userblock_size)' "$tmp/cr/version_2.h5")
tail -c +$((ub + 1)) "$tmp/cr/version_2.h5" >"$tmp/old.h5"
rm -rf "$tmp/r"
tried=$((tried + 1)) before=$fail
"$bin" train "$smoke" "${c[@]}" --out "$tmp/r" --resume "$tmp/old.h5" >/dev/null 2>"$tmp/err"
rc=$?
check '[[ $rc == 2 && $(wc -l <"$tmp/err") == 1 ]] && grep -q "old.h5. is an HDF5 file without a salient seal.*salient ckpt seal OLD NEW" "$tmp/err"'   "an unsealed checkpoint: rc $rc: $(head -2 "$tmp/err")"
[[ $fail == "$before" ]] && refused=$((refused + 1))
"$bin" ckpt seal "$tmp/old.h5" "$tmp/new.h5" >"$tmp/out" 2>&1
rc=$?
check '[[ $rc == 0 ]] && grep -q "^sealed: $tmp/new.h5$" "$tmp/out"' "ckpt seal: $(cat "$tmp/out")"
rm -rf "$tmp/r"
"$bin" train "$smoke" "${c[@]}" --out "$tmp/r" --resume "$tmp/new.h5" >/dev/null 2>"$tmp/err"
rc=$?
check '[[ $rc == 0 ]]' "the sealed copy of an unsealed format-2 checkpoint does not resume: $(tail -1 "$tmp/err")"
cp "$tmp/new.h5" "$tmp/keep.h5"
"$bin" ckpt seal "$tmp/old.h5" "$tmp/new.h5" >/dev/null 2>"$tmp/err"
rc=$?
check '[[ $rc == 2 ]] && grep -q "does not overwrite" "$tmp/err" && cmp -s "$tmp/new.h5" "$tmp/keep.h5"' \
  "ckpt seal over an existing file: $(cat "$tmp/err")"
printf 'not hdf5\n' >"$tmp/text"
"$bin" ckpt seal "$tmp/text" "$tmp/t.h5" >/dev/null 2>"$tmp/err"
rc=$?
check '[[ $rc == 2 && ! -e $tmp/t.h5 ]] && grep -q "not an HDF5 file" "$tmp/err"' "ckpt seal of a text file: $(cat "$tmp/err")"

# --- real data files: one test label changed, the same config and [data] path moved ---
fmnist=/usr/share/datasets/fashion-mnist
if [[ -d $fmnist ]]; then
  fm=(--set data.dataset=fashion-mnist --set data.train_limit=300 --set data.test_limit=100
      --set train.algorithm=dpsgd --set data.clients=4)
  mkdir -p "$tmp/d1" "$tmp/d2"
  ln -s "$fmnist"/* "$tmp/d1/" && ln -s "$fmnist"/* "$tmp/d2/"
  rm "$tmp/d2/t10k-labels-idx1-ubyte.gz"
  $py -c "
import gzip, sys
b = bytearray(gzip.open(sys.argv[1]).read()); b[8] = (b[8] + 1) % 10
gzip.open(sys.argv[2], 'wb').write(bytes(b))" "$fmnist/t10k-labels-idx1-ubyte.gz" "$tmp/d2/t10k-labels-idx1-ubyte.gz"
  mpirun -np 2 "$bin" train "$smoke" "${fm[@]}" "${c[@]}" --set data.path="$tmp/d1" --out "$tmp/f" >/dev/null 2>&1
  for d in d2 d1; do
    mpirun -np 2 "$bin" train "$smoke" "${fm[@]}" "${c[@]}" --set data.path="$tmp/$d" --out "$tmp/f$d" \
      --resume "$tmp/f/ckpt/round-000001.h5" >/dev/null 2>"$tmp/ferr"
    rc=$?
    if [[ $d == d2 ]]; then
      tried=$((tried + 1)) before=$fail
      check '[[ $rc == 2 && $(grep -c "^salient train:" "$tmp/ferr") == 1 ]] && grep -q "the data files differ from those it was trained on" "$tmp/ferr"' \
        "changed test labels: rc $rc, want the data files named: $(grep salient "$tmp/ferr" | head -2)"
      [[ $fail == "$before" ]] && refused=$((refused + 1))
    else # the same files under another path resume
      check '[[ $rc == 0 ]]' "the same data under another path does not resume: $(grep salient "$tmp/ferr" | tail -1)"
    fi
  done
else
  skip_part "cli_ckpt_hostile: the changed data file case (no $fmnist)"
fi

echo "inputs tried: $tried, refused clearly: $refused"
finish cli_ckpt_hostile
