#!/usr/bin/env bash
# cli_badinput.sh - a sweep of bad inputs through the real binary: wrong types and ranges,
# unknown sections and keys, malformed and oversized config files, bad --set and options,
# cross-key conflicts; missing, truncated and corrupt IDX and CIFAR-10 files; missing, damaged
# and foreign HDF5 checkpoints and resumes that would change the math; wrong rank counts and
# graphs; bad topo/bench/compare arguments; unwritable output directories, ones that hold a
# run's results and ones another run holds; a diverging run.
# Each case checks the exit code (2 for bad input, 1 for a diverged run: docs/user-guide.md),
# that stderr is exactly one line naming the file or [section] key (and the fix where there is
# one), that stdout is empty, and that nothing was written under the final names (a fresh
# output directory gets no config.ini/metrics.csv/summary.json/mask.csv/checkpoint; an existing
# run directory is left byte for byte as it was). Usage: cli_badinput.sh SALIENT SRCDIR
bin=$1 src=$2
source "$(dirname "$0")/lib.sh"
smoke="$src/jobs/configs/smoke.ini"
fmnist=/usr/share/datasets/fashion-mnist
# the ASan build: the same leak suppressions ctest passes (harmless for other builds)
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$src/tests/lsan.supp:fast_unwind_on_malloc=0:print_suppressions=0}
mpi=(mpirun -q) # -q: no mpirun banner on a non-zero exit, so stderr is salient's alone
limit=30        # seconds per command (each case takes a few at most; a hang is a failure)
# Under the sanitizers an MPI-laden process spends seconds in LeakSanitizer's exit scan (slow
# unwinding, tests/CMakeLists.txt), and ctest runs two such tests on the 2 cores at once: the
# rank-count cases took 8-12 s each there, and over 30 s in a CI run. A hang still fails.
[[ ${SALIENT_SANITIZED:-0} == 1 ]] && limit=120
declare -A ncase
order=()

# snap DIR: every file's checksum and every link's target under DIR (what "unchanged" means)
snap() {
  [[ -d $1 ]] || { echo absent; return; }
  (cd "$1" && find . -type f -print0 | sort -z | xargs -0r md5sum && find . -type l -printf '%p -> %l\n' | sort)
}
# written DIR: the final names a failed command must not have created in a fresh DIR (or in
# the per-algorithm directories compare makes under it)
written() {
  [[ -d $1 ]] || return 0
  (cd "$1" && find . -type f \( -name config.ini -o -name metrics.csv -o -name summary.json -o -name mask.csv \
    -o -name compare.csv -o -name summary.csv -o -name '*.h5' \) -printf '%P ' | head -c 200)
}

# judge MODE CAT NAME RC REGEX DIR CMD...: run CMD (bounded) and print "ok" or what is wrong.
# MODE bad: exit RC, exactly one stderr line matching REGEX, stdout empty (unless stdout_ok=1),
# nothing written: a DIR that did not exist gets none of the final names, one that existed is
# left byte for byte as it was. MODE diverge: exit 1, the last stderr line matches REGEX, it
# is the only "salient CMD:" error line, and no summary.json.
judge() {
  local mode=$1 cat=$2 name=$3 want=$4 re=$5 dir=$6 before="" after probs="" rc lines cdir
  shift 6
  cdir=$(mktemp -d "$tmp/case.XXXX")
  [[ $dir != - && -d $dir ]] && before=$(snap "$dir")
  timeout -k 5 $limit "$@" >"$cdir/out" 2>"$cdir/err" </dev/null
  rc=$?
  lines=$(wc -l <"$cdir/err")
  [[ $rc == 124 || $rc == 137 ]] && probs+="hung (killed after $limit s); "
  [[ $rc == "$want" ]] || probs+="exit $rc, want $want; "
  if [[ $mode == diverge ]]; then
    [[ $(grep -c '^salient [a-z]*:' "$cdir/err") == 1 ]] || probs+="want one 'salient CMD:' error line; "
    tail -1 "$cdir/err" | LC_ALL=C grep -qE -- "$re" || probs+="last stderr line does not match /$re/; "
    [[ -e $dir/summary.json ]] && probs+="summary.json written; "
  else
    [[ $lines == 1 ]] || probs+="$lines stderr lines, want 1; "
    LC_ALL=C grep -qE -- "$re" "$cdir/err" || probs+="stderr does not match /$re/; "
    [[ -s $cdir/out && ${stdout_ok:-0} == 0 ]] && probs+="stdout not empty; "
    if [[ $dir != - ]]; then
      if [[ -n $before ]]; then
        after=$(snap "$dir")
        [[ $after == "$before" ]] || probs+="$dir changed: $(diff <(echo "$before") <(echo "$after") | grep '^[<>]' | head -2 | tr '\n' ' '); "
      elif [[ -n $(written "$dir") ]]; then
        probs+="wrote $(written "$dir")in $dir; "
      fi
    fi
  fi
  if [[ -z $probs ]]; then echo ok; else
    { echo "$cat/$name: ${probs}command: $*"
      echo "      stderr: $(head -c 600 "$cdir/err" | sed '2,$s/^/      /')"; } | sed "s|$tmp|\$tmp|g"
  fi
  [[ $dir == "$tmp"/x[0-9]* ]] && rm -rf "$dir"
  rm -rf "$cdir"
}
# expect CAT NAME RC REGEX DIR -- CMD... (diverge: the same for a diverging run): queue a case.
# Cases run 6 at a time (most of their time is MPI start-up, not CPU); a case on a directory
# that already exists runs alone, as others may share it. $x is a fresh directory per case.
ncases=0
# timed VERDICT ARGS...: judge ARGS into VERDICT, and "CAT SECONDS" (start to verdict: the time
# to a clear failure, checks included) into VERDICT.t
timed() {
  local v=$1 t0=$EPOCHREALTIME
  shift
  judge "$@" >"$v"
  echo "$2 $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')" >"$v.t"
}
queue() {
  local mode=$1 cat=$2
  [[ -n ${ncase[$cat]+x} ]] || order+=("$cat")
  ncase[$cat]=$((${ncase[$cat]:-0} + 1))
  ncases=$((ncases + 1))
  local v="$tmp/verdict.$(printf %04d $ncases)"
  if [[ $mode == bad && $6 != - && $6 != "$x" && -d $6 ]]; then
    wait
    timed "$v" "$@"
  else
    while (($(jobs -rp | wc -l) >= 6)); do wait -n; done
    timed "$v" "$@" &
  fi
  x="$tmp/x$((ncases + 1))"
}
expect() { local a=("${@:1:5}"); shift 6; queue bad "${a[@]}" "$@"; }
diverge() { local name=$1 re=$2; shift 3; queue diverge numeric "$name" 1 "$re" "$x" "$@"; }
x="$tmp/x1" # the fresh output directory of the next case
T=$tmp

# ============================== config ==============================
cfg() { printf "$2" >"$T/$1.ini"; }
cfg int '[train]\nbatch = 1.5\n'
expect config "int not integer" 2 "int\.ini:2: \[train\] batch = '1\.5': not an integer; expected an integer in \[1, 65536\]" "$x" -- "$bin" train "$T/int.ini" --out "$x"
cfg int2 '[data]\nclients = 5.0\n'
expect config "int with decimals" 2 "int2\.ini:2: \[data\] clients = '5\.0': not an integer; expected an integer >= 1" "$x" -- "$bin" train "$T/int2.ini" --out "$x"
expect config "int hex" 2 "\[train\] batch = '0x10': not an integer" "$x" -- "$bin" train "$smoke" --set train.batch=0x10 --out "$x"
expect config "int overflow" 2 "\[train\] batch = '99999999999999999999': out of range; expected an integer in \[1, 65536\]" "$x" -- "$bin" train "$smoke" --set train.batch=99999999999999999999 --out "$x"
expect config "int above range" 2 "\[train\] batch = '65537': out of range; expected an integer in \[1, 65536\]" "$x" -- "$bin" train "$smoke" --set train.batch=65537 --out "$x"
expect config "int below range" 2 "\[run\] threads = '0': out of range; expected an integer in \[1, 256\]" "$x" -- "$bin" train "$smoke" --set run.threads=0 --out "$x"
expect config "int empty" 2 "\[run\] rounds = '': not an integer; expected an integer >= 1" "$x" -- "$bin" train "$smoke" --set run.rounds= --out "$x"
expect config "int exponent" 2 "\[run\] rounds = '1e3': not an integer" "$x" -- "$bin" train "$smoke" --set run.rounds=1e3 --out "$x"
expect config "int 2^31" 2 "\[data\] clients = '2147483648': out of range" "$x" -- "$bin" train "$smoke" --set data.clients=2147483648 --out "$x"
cfg dbl '[train]\nlr = fast\n'
expect config "double word" 2 "dbl\.ini:2: \[train\] lr = 'fast': not a number; expected a number in \(0, 100\]" "$x" -- "$bin" train "$T/dbl.ini" --out "$x"
expect config "double trailing junk" 2 "\[train\] lr = '0\.1abc': not a number" "$x" -- "$bin" train "$smoke" --set train.lr=0.1abc --out "$x"
expect config "double two values" 2 "\[train\] lr = '0\.1 0\.2': not a number" "$x" -- "$bin" train "$smoke" --set "train.lr=0.1 0.2" --out "$x"
expect config "double nan" 2 "\[train\] lr = 'nan': not a number" "$x" -- "$bin" train "$smoke" --set train.lr=nan --out "$x"
expect config "double inf" 2 "\[train\] lr = 'inf': out of range; expected a number in \(0, 100\]" "$x" -- "$bin" train "$smoke" --set train.lr=inf --out "$x"
expect config "double overflow" 2 "\[train\] lr = '1e400': out of range" "$x" -- "$bin" train "$smoke" --set train.lr=1e400 --out "$x"
expect config "double underflow" 2 "\[train\] lr = '1e-400': out of range" "$x" -- "$bin" train "$smoke" --set train.lr=1e-400 --out "$x"
expect config "double open bound" 2 "\[train\] momentum = '1': out of range; expected a number in \[0, 1\)" "$x" -- "$bin" train "$smoke" --set train.momentum=1 --out "$x"
expect config "double zero" 2 "\[data\] alpha = '0': out of range; expected a number > 0" "$x" -- "$bin" train "$smoke" --set data.alpha=0 --out "$x"
expect config "double density 0" 2 "\[sparsity\] density = '0': out of range; expected a number in \(0, 1\]" "$x" -- "$bin" train "$smoke" --set sparsity.density=0 --out "$x"
expect config "uint64 negative" 2 "\[run\] seed = '-1': negative; expected an integer in \[0, 18446744073709551615\]" "$x" -- "$bin" train "$smoke" --set run.seed=-1 --out "$x"
expect config "uint64 overflow" 2 "\[run\] seed = '18446744073709551616': out of range" "$x" -- "$bin" train "$smoke" --set run.seed=18446744073709551616 --out "$x"
cfg enum '[model]\narch = resnet\n'
expect config "enum unknown" 2 "enum\.ini:2: \[model\] arch = 'resnet': expected one of mlp\|lenet5\|cnn\|linear" "$x" -- "$bin" train "$T/enum.ini" --out "$x"
expect config "enum case" 2 "\[data\] dataset = 'Synthetic': expected one of fashion-mnist\|mnist\|cifar10\|synthetic" "$x" -- "$bin" train "$smoke" --set data.dataset=Synthetic --out "$x"
cfg inline '[data]\ndataset = synthetic#a comment\n'
expect config "comment glued to a value" 2 "inline\.ini:2: \[data\] dataset = 'synthetic#a comment': contains '#'; a comment needs a blank before it" "$x" -- "$bin" train "$T/inline.ini" --out "$x"
cfg hashpath '[run]\nout = runs/exp#2\n'
expect config "'#' in a path" 2 "hashpath\.ini:2: \[run\] out = 'runs/exp#2': contains '#'" "$x" -- "$bin" train "$T/hashpath.ini" --out "$x"
cfg semipath '[data]\ndataset = mnist\npath = /srv/a;b\n'
expect config "';' in a path" 2 "semipath\.ini:3: \[data\] path = '/srv/a;b': contains ';'" "$x" -- "$bin" train "$T/semipath.ini" --out "$x"
expect config "--out with '#'" 2 "output directory '.*/x[0-9]+/a#b': .*\[run\] out = '.*a#b': contains '#'" - -- "$bin" train "$smoke" --out "$x/a#b"
cfg quote1 '[run]\nout = "runs/x\n'
expect config "unmatched quote" 2 "quote1\.ini:2: \[run\] out = '\"runs/x': the quote \" has no partner at the end; remove it" "$x" -- "$bin" train "$T/quote1.ini" --out "$x"
cfg quote2 "[data]\ndataset = mnist\npath = \"'/srv/x'\"\n"
expect config "nested quotes" 2 "quote2\.ini:3: \[data\] path = ''/srv/x'': starts or ends with a quote" "$x" -- "$bin" train "$T/quote2.ini" --out "$x"
: >"$T/empty.ini"
expect config "empty file" 2 "config file '.*empty\.ini' sets no keys \(it is empty or holds only comments and section lines\)" "$x" -- "$bin" train "$T/empty.ini" --out "$x"
cfg nokeys '# a config\n[run]\n; nothing yet\n[train]\n'
expect config "no keys, only comments" 2 "config file '.*nokeys\.ini' sets no keys" "$x" -- "$bin" train "$T/nokeys.ini" --out "$x"
expect config "string too long" 2 "\[run\] out = 'a+\.\.\.': too long \(1100 characters\); expected at most 1023" "$x" -- "$bin" train "$smoke" --set "run.out=$(printf 'a%.0s' {1..1100})" --out "$x"
expect config "string with newline" 2 "\[run\] out = '.*': contains a control character" "$x" -- "$bin" train "$smoke" --set $'run.out=/tmp/y\n[train]\nlr = 5' --out "$x"
cfg sec '[trian]\nlr = 0.1\n'
expect config "unknown section" 2 "sec\.ini:1: unknown section \[trian\]; known sections: run, data.*did you mean \[train\]\?" "$x" -- "$bin" train "$T/sec.ini" --out "$x"
cfg seccase '[Train]\nlr = 0.1\n'
expect config "section case" 2 "seccase\.ini:1: unknown section \[Train\].*did you mean \[train\]\?" "$x" -- "$bin" train "$T/seccase.ini" --out "$x"
cfg secempty '[]\n'
expect config "empty section name" 2 "secempty\.ini:1: unknown section \[\]; known sections" "$x" -- "$bin" train "$T/secempty.ini" --out "$x"
cfg key '[train]\nlrr = 0.1\n'
expect config "unknown key" 2 "key\.ini:2: unknown key 'lrr' in \[train\]; known keys: .*; did you mean 'lr'\?" "$x" -- "$bin" train "$T/key.ini" --out "$x"
cfg keycase '[train]\nLR = 0.1\n'
expect config "key case" 2 "keycase\.ini:2: unknown key 'LR' in \[train\].*did you mean 'lr'\?" "$x" -- "$bin" train "$T/keycase.ini" --out "$x"
cfg nosec 'lr = 0.1\n'
expect config "key outside section" 2 "nosec\.ini:1: key 'lr' is outside any section; put it under \[train\]" "$x" -- "$bin" train "$T/nosec.ini" --out "$x"
cfg dup '[train]\nlr = 0.1\nlr = 0.2\n'
expect config "duplicate key" 2 "dup\.ini:3: \[train\] lr is set twice \(first on line 2\); keep one" "$x" -- "$bin" train "$T/dup.ini" --out "$x"
cfg noeq '[train]\nlr 0.1\n'
expect config "missing =" 2 "noeq\.ini:2: malformed line 'lr 0\.1'; expected key = value" "$x" -- "$bin" train "$T/noeq.ini" --out "$x"
cfg nokey '[train]\n= 0.1\n'
expect config "missing key name" 2 "nokey\.ini:2: missing key name before '='" "$x" -- "$bin" train "$T/nokey.ini" --out "$x"
cfg brk '[train\nlr = 0.1\n'
expect config "unclosed section" 2 "brk\.ini:1: malformed section line '\[train'; expected \[section\]" "$x" -- "$bin" train "$T/brk.ini" --out "$x"
{ printf '[run]\nout = '; printf 'a%.0s' {1..5000}; echo; } >"$T/longline.ini"
expect config "line too long" 2 "longline\.ini:2: line longer than [0-9]+ characters" "$x" -- "$bin" train "$T/longline.ini" --out "$x"
head -c 3000 /dev/zero | tr '\0' '\1' >"$T/nul.ini"; printf '\0' >>"$T/nul.ini"
expect config "binary (NUL)" 2 "config file '.*nul\.ini' contains a NUL byte" "$x" -- "$bin" train "$T/nul.ini" --out "$x"
printf '\xff\xfe\x80garbage\n' >"$T/hibit.ini"
expect config "binary (high bytes)" 2 "hibit\.ini:1: malformed line" "$x" -- "$bin" train "$T/hibit.ini" --out "$x"
{ echo '[run]'; head -c 1100000 /dev/zero | tr '\0' '#'; echo; } >"$T/big.ini"
expect config "file > 1 MiB" 2 "config file '.*big\.ini' is larger than 1048576 bytes" "$x" -- "$bin" train "$T/big.ini" --out "$x"
expect config "endless file" 2 "config file '/dev/zero' is larger than 1048576 bytes" "$x" -- "$bin" train /dev/zero --out "$x"
expect config "missing file" 2 "cannot read config file '.*nope\.ini': No such file" "$x" -- "$bin" train "$T/nope.ini" --out "$x"
mkdir -p "$T/dir.ini"
expect config "directory as file" 2 "cannot read config file '.*dir\.ini': it is a directory; give the path of a \.ini file" "$x" -- "$bin" train "$T/dir.ini" --out "$x"
mkfifo "$T/fifo.ini" # no writer: opening it would block for ever
expect config "FIFO as file" 2 "cannot read config file '.*fifo\.ini': it is a FIFO \(named pipe\), not a file" "$x" -- "$bin" train "$T/fifo.ini" --out "$x"
expect config "--set no =" 2 "--set 'train\.lr': expected section\.key=value, e\.g\. --set train\.lr=0\.1" "$x" -- "$bin" train "$smoke" --set train.lr --out "$x"
expect config "--set no section" 2 "--set 'trainlr=0\.1': expected section\.key=value" "$x" -- "$bin" train "$smoke" --set trainlr=0.1 --out "$x"
expect config "--set no key" 2 "--set '=1': expected section\.key=value" "$x" -- "$bin" train "$smoke" --set =1 --out "$x"
expect config "--set unknown key" 2 "--set train\.lrr=0\.1: unknown key 'lrr' in \[train\].*did you mean 'lr'\?" "$x" -- "$bin" train "$smoke" --set train.lrr=0.1 --out "$x"
expect config "--set unknown section" 2 "--set foo\.lr=0\.1: unknown section \[foo\]; known sections" "$x" -- "$bin" train "$smoke" --set foo.lr=0.1 --out "$x"
expect config "density without method" 2 "\[sparsity\] density = 0\.5 has no effect with \[sparsity\] method = none.*set density = 1 or choose a method" "$x" -- "$bin" train "$smoke" --set sparsity.density=0.5 --out "$x"
expect config "mask method centralized" 2 "\[sparsity\] method = snip needs a distributed \[train\] algorithm.*set method = none or algorithm = fedavg" "$x" -- "$bin" train "$smoke" --set sparsity.method=snip --set sparsity.density=0.5 --out "$x"
expect config "compress=mask without method" 2 "\[comm\] compress = mask needs a \[sparsity\] method.*or compress = none" "$x" -- "$bin" train "$smoke" --set comm.compress=mask --set train.algorithm=allreduce --out "$x"
expect config "compress with centralized" 2 "\[comm\] compress = topk applies to \[train\] algorithm = allreduce.*set compress = none" "$x" -- "$bin" train "$smoke" --set comm.compress=topk --out "$x"
expect config "clients > samples" 2 "\[data\] clients = 1000, more than the 512 training samples \(\[data\] synth_train\)" "$x" -- "$bin" train "$smoke" --set data.clients=1000 --set train.algorithm=allreduce --out "$x"
expect config "shards > samples" 2 "\[data\] clients \* shards_per_client = 600 shards, more than the 512 training samples.*lower one of them" "$x" -- "$bin" train "$smoke" --set data.partition=shards --set data.clients=300 --set train.algorithm=allreduce --out "$x"
expect config "unknown option" 2 "unknown option '--frobnicate' \(see salient train --help\)" "$x" -- "$bin" train "$smoke" --frobnicate --out "$x"
expect config "--out without value" 2 "salient train: --out needs a value" - -- "$bin" train "$smoke" --out
expect config "--set without value" 2 "salient train: --set needs a value" "$x" -- "$bin" train "$smoke" --out "$x" --set
expect config "--resume without value" 2 "salient train: --resume needs a value" "$x" -- "$bin" train "$smoke" --out "$x" --resume
expect config "two config files" 2 "unexpected argument '.*smoke\.ini' \(one CONFIG\.ini only\)" "$x" -- "$bin" train "$smoke" "$smoke" --out "$x"
expect config "no config file" 2 "salient train: missing CONFIG\.ini \(e\.g\. salient train " - -- "$bin" train
expect config "unknown command" 2 "unknown command 'frob' \(commands: train, compare, data" - -- "$bin" frob
expect config "data: bad key" 2 "salient data: --set data\.clients=0: \[data\] clients = '0': out of range" - -- "$bin" data "$smoke" --set data.clients=0
expect config "data: unknown option" 2 "salient data: unknown option '--resume'" - -- "$bin" data "$smoke" --resume latest

# ============================== data ==============================
# mkds NAME: a data directory of links to the real Fashion-MNIST files, one of which the case replaces
be32() { printf "\\\\x%02x\\\\x%02x\\\\x%02x\\\\x%02x" $((($1 >> 24) & 255)) $((($1 >> 16) & 255)) $((($1 >> 8) & 255)) $(($1 & 255)); }
mkds() { rm -rf "$T/$1"; mkdir -p "$T/$1"; ln -s "$fmnist"/* "$T/$1/"; rm -f "$T/$1/$2"; }
fm=(--set data.dataset=fashion-mnist --set data.train_limit=500 --set data.test_limit=200)
expect data "missing data dir" 2 "nodata: data directory not found \(install the Debian package dataset-fashion-mnist or set \[data\] path\)" "$x" -- "$bin" train "$smoke" "${fm[@]}" --set data.path="$T/nodata" --out "$x"
mkdir -p "$T/emptyds"
expect data "mnist: files missing" 2 "emptyds/train-images-idx3-ubyte\[\.gz\]: data file missing \(put the MNIST files .* or set \[data\] path\)" "$x" -- "$bin" train "$smoke" --set data.dataset=mnist --set data.path="$T/emptyds" --out "$x"
if [[ -d $fmnist ]]; then
  L=train-labels-idx1-ubyte.gz I=train-images-idx3-ubyte.gz TL=t10k-labels-idx1-ubyte.gz TI=t10k-images-idx3-ubyte.gz
  mkds d1 $L
  expect data "IDX labels missing" 2 "d1/train-labels-idx1-ubyte\[\.gz\]: data file missing .*set \[data\] path" "$x" -- "$bin" train "$smoke" "${fm[@]}" --set data.path="$T/d1" --out "$x"
  mkds d2 $I; head -c 100000 "$fmnist/$I" >"$T/d2/$I"
  expect data "IDX truncated gzip" 2 "d2/train-images-idx3-ubyte\.gz: truncated gzip stream \(file damaged\? re-install dataset-fashion-mnist\)" "$x" -- "$bin" train "$smoke" "${fm[@]}" --set data.path="$T/d2" --out "$x"
  mkds d3 $TL; cp "$fmnist/$TL" "$T/d3/$TL"; printf '\xff\xff\xff\xff' | dd of="$T/d3/$TL" bs=1 seek=2000 conv=notrunc 2>/dev/null
  expect data "IDX corrupt gzip" 2 "d3/t10k-labels-idx1-ubyte\.gz: corrupt gzip data.*file damaged" "$x" -- "$bin" train "$smoke" "${fm[@]}" --set data.path="$T/d3" --out "$x"
  mkds d4 $I; echo garbage | gzip >"$T/d4/$I"
  expect data "IDX wrong magic" 2 "d4/train-images-idx3-ubyte\.gz: not an IDX file \(magic 67 61 72 62, expected 00 00 08 nd\)" "$x" -- "$bin" train "$smoke" "${fm[@]}" --set data.path="$T/d4" --out "$x"
  mkds d5 $TI; { printf "\x00\x00\x08\x02$(be32 10000)$(be32 784)"; zcat "$fmnist/$TI" | tail -c +17; } | gzip -1 >"$T/d5/$TI"
  expect data "IDX images 2-D" 2 "d5/t10k-images-idx3-ubyte\.gz: expected images of shape \(n, h, w\), got 2 dims" "$x" -- "$bin" train "$smoke" "${fm[@]}" --set data.path="$T/d5" --out "$x"
  mkds d6 $TL; { printf "\x00\x00\x0d\x01$(be32 10000)"; zcat "$fmnist/$TL" | tail -c +9; } | gzip >"$T/d6/$TL"
  expect data "IDX float type" 2 "d6/t10k-labels-idx1-ubyte\.gz: IDX element type 0x0d \(float\) not supported" "$x" -- "$bin" train "$smoke" "${fm[@]}" --set data.path="$T/d6" --out "$x"
  mkds d7 $L; { printf "\x00\x00\x08\x01$(be32 59999)"; zcat "$fmnist/$L" | tail -c +9 | head -c 59999; } | gzip >"$T/d7/$L"
  expect data "IDX label count mismatch" 2 "d7/train-labels-idx1-ubyte\.gz: expected 60000 labels to match .*d7/train-images-idx3-ubyte\.gz" "$x" -- "$bin" train "$smoke" "${fm[@]}" --set data.path="$T/d7" --out "$x"
  mkds d8 $TL; zcat "$fmnist/$TL" | head -c 5008 | gzip >"$T/d8/$TL"
  expect data "IDX truncated payload" 2 "d8/t10k-labels-idx1-ubyte\.gz: IDX header promises 10000 data bytes but the file has 5000 \(truncated\)" "$x" -- "$bin" train "$smoke" "${fm[@]}" --set data.path="$T/d8" --out "$x"
  mkds d9 $TL; { zcat "$fmnist/$TL"; echo extra; } | gzip >"$T/d9/$TL"
  expect data "IDX trailing bytes" 2 "d9/t10k-labels-idx1-ubyte\.gz: IDX header promises 10000 data bytes but the file has 10006 \(trailing bytes\)" "$x" -- "$bin" train "$smoke" "${fm[@]}" --set data.path="$T/d9" --out "$x"
  mkds d10 $TL; { printf "\x00\x00\x08\x01$(be32 10000)"; head -c 10000 /dev/zero | tr '\0' '\310'; } | gzip >"$T/d10/$TL"
  expect data "IDX label out of range" 2 "d10/t10k-labels-idx1-ubyte\.gz: label 200 at sample 0, expected 0\.\.9" "$x" -- "$bin" train "$smoke" "${fm[@]}" --set data.path="$T/d10" --out "$x"
  mkds d11 $TL; : >"$T/d11/$TL"
  expect data "IDX empty file" 2 "d11/t10k-labels-idx1-ubyte\.gz: truncated IDX header \(0 bytes, need 4\)" "$x" -- "$bin" train "$smoke" "${fm[@]}" --set data.path="$T/d11" --out "$x"
  mkds d12 $TL; zcat "$fmnist/$TL" | head -c 6 >"$T/d12/t10k-labels-idx1-ubyte"
  expect data "IDX short header (plain)" 2 "d12/t10k-labels-idx1-ubyte: truncated IDX header \(6 bytes, need 8\)" "$x" -- "$bin" train "$smoke" "${fm[@]}" --set data.path="$T/d12" --out "$x"
  # a 32x32 test set beside the 28x28 training set (each file is valid on its own)
  mkds d13 $TI; rm -f "$T/d13/$TL"
  { printf "\x00\x00\x08\x03$(be32 1000)$(be32 32)$(be32 32)"; head -c $((1000 * 1024)) /dev/zero; } >"$T/d13/t10k-images-idx3-ubyte"
  { printf "\x00\x00\x08\x01$(be32 1000)"; head -c 1000 /dev/zero; } >"$T/d13/t10k-labels-idx1-ubyte"
  expect data "IDX test images 32x32, train 28x28" 2 "d13/t10k-images-idx3-ubyte: .*32x32.*28x28|d13/t10k-images-idx3-ubyte: .*28x28.*32x32" "$x" -- "$bin" train "$smoke" "${fm[@]}" --set data.path="$T/d13" --out "$x"
  expect data "data: IDX count mismatch" 2 "salient data: .*d7/train-labels-idx1-ubyte\.gz: expected 60000 labels" - -- "$bin" data "$smoke" "${fm[@]}" --set data.path="$T/d7"
else
  skip_part "cli_badinput: the IDX file cases ($fmnist missing: apt-get install dataset-fashion-mnist)"
fi
# CIFAR-10: six files of 10000 records of 3073 bytes (sparse zeros: label 0, black images)
mkcifar() {
  rm -rf "$T/$1"; mkdir -p "$T/$1"
  local f; for f in data_batch_{1..5}.bin test_batch.bin; do truncate -s $((10000 * 3073)) "$T/$1/$f"; done
}
cf=(--set data.dataset=cifar10 --set model.arch=linear --set data.clients=4)
expect data "CIFAR files missing" 2 "emptyds/data_batch_1\.bin\[\.gz\]: data file missing \(unpack the CIFAR-10 binary version .* or set \[data\] path\)" "$x" -- "$bin" train "$smoke" "${cf[@]}" --set data.path="$T/emptyds" --out "$x"
mkcifar c1; truncate -s 1000 "$T/c1/data_batch_3.bin"
expect data "CIFAR batch truncated" 2 "c1/data_batch_3\.bin: 1000 bytes is not a whole number of 3073-byte CIFAR-10 records" "$x" -- "$bin" train "$smoke" "${cf[@]}" --set data.path="$T/c1" --out "$x"
expect data "CIFAR batch truncated, train_limit" 2 "c1/data_batch_3\.bin: 1000 bytes" "$x" -- "$bin" train "$smoke" "${cf[@]}" --set data.train_limit=200 --set data.path="$T/c1" --out "$x"
mkcifar c2; truncate -s $((10000 * 3073 + 1)) "$T/c2/data_batch_5.bin"
expect data "CIFAR batch trailing byte" 2 "c2/data_batch_5\.bin: 30730001 bytes is not a whole number" "$x" -- "$bin" train "$smoke" "${cf[@]}" --set data.path="$T/c2" --out "$x"
mkcifar c3; truncate -s $((9999 * 3073)) "$T/c3/data_batch_2.bin"
expect data "CIFAR batch one record short" 2 "c3/data_batch_2\.bin: .*9999.*10000|c3/data_batch_2\.bin: .*30726927 bytes" "$x" -- "$bin" train "$smoke" "${cf[@]}" --set data.path="$T/c3" --out "$x"
mkcifar c4; truncate -s 3073 "$T/c4/test_batch.bin"
expect data "CIFAR test batch of 1 record" 2 "c4/test_batch\.bin: .*(1 record|3073 bytes)" "$x" -- "$bin" train "$smoke" "${cf[@]}" --set data.path="$T/c4" --out "$x"
mkcifar c5; head -c 3073 /dev/zero | tr '\0' '\377' | dd of="$T/c5/test_batch.bin" conv=notrunc 2>/dev/null
expect data "CIFAR bad label" 2 "c5/test_batch\.bin: record 0 has label 255, expected 0\.\.9" "$x" -- "$bin" train "$smoke" "${cf[@]}" --set data.path="$T/c5" --out "$x"
mkcifar c6; rm "$T/c6/test_batch.bin"; mkdir "$T/c6/test_batch.bin"
expect data "CIFAR file is a directory" 2 "c6/test_batch\.bin: not a regular file" "$x" -- "$bin" train "$smoke" "${cf[@]}" --set data.path="$T/c6" --out "$x"

# ============================== HDF5 checkpoints ==============================
c=(--set checkpoint.every=1 --set checkpoint.keep=10)
"$bin" train "$smoke" "${c[@]}" --out "$T/run" 2>/dev/null # rounds 1, 2 of smoke (mlp)
good="$T/run/ckpt/round-000001.h5"
size=$(stat -c %s "$good")
cp "$good" "$T/trunc.h5" && truncate -s $((size / 2)) "$T/trunc.h5"
cp "$good" "$T/stub.h5" && truncate -s 1000 "$T/stub.h5"
cp "$good" "$T/flip.h5"
off=$(h5dump -p -H -d /model/fc1/weight "$good" | sed -n 's/.*OFFSET \([0-9]*\).*/\1/p')
printf '\x7f\x7f\x7f\x7f' | dd of="$T/flip.h5" bs=1 seek=$((off + 1000)) conv=notrunc 2>/dev/null
cp "$good" "$T/magic.h5" && printf 'XXXX' | dd of="$T/magic.h5" conv=notrunc 2>/dev/null
echo "not a checkpoint" >"$T/text.h5"
h5copy -i "$good" -o "$T/foreign.h5" -s /model -d /model 2>/dev/null
printf '1 2 3 4\n' >"$T/imp.txt"
printf 'PATH /data\nINPUT-CLASS TEXTFP\nRANK 1\nDIMENSION-SIZES 4\nOUTPUT-CLASS FP\nOUTPUT-SIZE 32\n' >"$T/imp.cfg"
h5import "$T/imp.txt" -c "$T/imp.cfg" -o "$T/imported.h5" 2>/dev/null
# damaged root attributes (not covered by the tensors' CRCs): the round, the config text
roundoff=$(grep -abo 'round' "$good" | head -1 | cut -d: -f1) # the attribute's name; its value follows
cp "$good" "$T/badround.h5"
printf '\x55\xaa\x55\xaa' | dd of="$T/badround.h5" bs=1 seek=$((roundoff + 32)) conv=notrunc 2>/dev/null
cfgoff=$(grep -abo 'density = 1' "$good" | head -1 | cut -d: -f1)
cp "$good" "$T/badconfig.h5"
printf '\x55\xaa\x55\xaa' | dd of="$T/badconfig.h5" bs=1 seek=$((cfgoff + 10)) conv=notrunc 2>/dev/null
# the damage must have landed where intended (the file layout could move)
check '[[ $(h5dump -a /round "$T/badround.h5" 2>/dev/null | sed -n "s/^ *(0): //p") != 1 ]]' \
  "fixture: flipping bytes at $roundoff+32 did not change the round attribute of badround.h5"
check '! cmp -s <(h5dump -a /config "$good" 2>&1 | tail -n +2) <(h5dump -a /config "$T/badconfig.h5" 2>&1 | tail -n +2)' \
  "fixture: flipping bytes at $cfgoff+10 did not change the config attribute of badconfig.h5"
r3=(--set run.rounds=3)
expect hdf5 "resume: missing file" 2 "checkpoint '.*nofile\.h5': No such file or directory" "$x" -- "$bin" train "$smoke" "${c[@]}" "${r3[@]}" --out "$x" --resume "$T/nofile.h5"
expect hdf5 "resume: text file" 2 "checkpoint '.*text\.h5' is not a salient checkpoint \(no seal .*not an HDF5 file.*resume from an earlier checkpoint" "$x" -- "$bin" train "$smoke" "${c[@]}" "${r3[@]}" --out "$x" --resume "$T/text.h5"
expect hdf5 "resume: bad superblock" 2 "checkpoint '.*magic\.h5' is not a salient checkpoint \(no seal.*damaged there" "$x" -- "$bin" train "$smoke" "${c[@]}" "${r3[@]}" --out "$x" --resume "$T/magic.h5"
expect hdf5 "resume: truncated" 2 "checkpoint '.*trunc\.h5' is truncated or damaged: [0-9]+ bytes, sealed with [0-9]+; resume from an earlier checkpoint" "$x" -- "$bin" train "$smoke" "${c[@]}" "${r3[@]}" --out "$x" --resume "$T/trunc.h5"
expect hdf5 "resume: 1000-byte stub" 2 "checkpoint '.*stub\.h5' is truncated or damaged: 1000 bytes" "$x" -- "$bin" train "$smoke" "${c[@]}" "${r3[@]}" --out "$x" --resume "$T/stub.h5"
expect hdf5 "resume: bit flip (CRC)" 2 "checkpoint '.*flip\.h5' is damaged: it fails the CRC-32C of its seal.*resume from an earlier checkpoint" "$x" -- "$bin" train "$smoke" "${c[@]}" "${r3[@]}" --out "$x" --resume "$T/flip.h5"
expect hdf5 "resume: foreign (h5copy)" 2 "'.*foreign\.h5' is an HDF5 file without a salient seal: not a salient checkpoint" "$x" -- "$bin" train "$smoke" "${c[@]}" "${r3[@]}" --out "$x" --resume "$T/foreign.h5"
expect hdf5 "resume: foreign (h5import)" 2 "'.*imported\.h5' is an HDF5 file without a salient seal: not a salient checkpoint" "$x" -- "$bin" train "$smoke" "${c[@]}" "${r3[@]}" --out "$x" --resume "$T/imported.h5"
expect hdf5 "resume: damaged round attribute" 2 "badround\.h5' is damaged: it fails the CRC-32C of its seal" "$x" -- "$bin" train "$smoke" "${c[@]}" "${r3[@]}" --out "$x" --resume "$T/badround.h5"
expect hdf5 "resume: damaged config attribute" 2 "^salient train: checkpoint '[^']*badconfig\.h5' is damaged: it fails the CRC-32C of its seal" "$x" -- "$bin" train "$smoke" "${c[@]}" "${r3[@]}" --out "$x" --resume "$T/badconfig.h5"
expect hdf5 "resume: a directory" 2 "checkpoint '.*/run/ckpt'" "$x" -- "$bin" train "$smoke" "${c[@]}" "${r3[@]}" --out "$x" --resume "$T/run/ckpt"
expect hdf5 "resume latest: none" 2 "--resume latest: no checkpoint at '.*/x[0-9]+/ckpt/latest'" "$x" -- "$bin" train "$smoke" "${c[@]}" "${r3[@]}" --out "$x" --resume latest
# the same run directory, resumed with a config that changes the math: refused, left untouched
expect hdf5 "resume: other arch" 2 "cannot resume from '.*round-000001\.h5': the checkpoint was written with \[model\] arch = mlp, not lenet5.*its config\.ini" "$T/run" -- "$bin" train "$smoke" "${c[@]}" "${r3[@]}" --set model.arch=lenet5 --out "$T/run" --resume "$good"
expect hdf5 "resume: changed lr" 2 "written with \[train\] lr = 0\.05, not 0\.3 in this config" "$T/run" -- "$bin" train "$smoke" "${c[@]}" "${r3[@]}" --set train.lr=0.3 --out "$T/run" --resume latest
expect hdf5 "resume: changed seed" 2 "written with \[run\] seed = 1, not 7" "$T/run" -- "$bin" train "$smoke" "${c[@]}" "${r3[@]}" --set run.seed=7 --out "$T/run" --resume latest
expect hdf5 "resume: changed data" 2 "written with \[data\] synth_train = 512, not 256" "$T/run" -- "$bin" train "$smoke" "${c[@]}" "${r3[@]}" --set data.synth_train=256 --out "$T/run" --resume latest
expect hdf5 "resume: changed algorithm" 2 "written with \[train\] algorithm = centralized, not allreduce" "$T/run" -- "$bin" train "$smoke" "${c[@]}" "${r3[@]}" --set train.algorithm=allreduce --out "$T/run" --resume latest
expect hdf5 "resume: finished run" 2 "nothing to resume: checkpoint '.*run/ckpt/latest' is at round 2 and \[run\] rounds = 2; raise \[run\] rounds" "$T/run" -- "$bin" train "$smoke" "${c[@]}" --out "$T/run" --resume latest
stdout_ok=1 # inspect prints what it could read before the error
for f in text trunc flip foreign imported nofile; do
  expect hdf5 "inspect: $f" 2 "^salient ckpt: .*'.*$f\.h5'" - -- "$bin" ckpt inspect "$T/$f.h5"
done
expect hdf5 "inspect: damaged round" 2 "badround\.h5' is damaged: it fails the CRC-32C of its seal" - -- "$bin" ckpt inspect "$T/badround.h5"
stdout_ok=0
expect hdf5 "inspect: no file given" 2 "usage: salient ckpt inspect FILE\.h5" - -- "$bin" ckpt inspect
expect hdf5 "ckpt: unknown subcommand" 2 "usage: salient ckpt inspect FILE\.h5" - -- "$bin" ckpt frob "$good"

# ============================== ranks ==============================
expect ranks "fedavg on 1 rank" 2 "\[train\] algorithm = fedavg needs at least 2 MPI ranks.*mpirun -np N, N >= 2" "$x" -- "$bin" train "$smoke" --set train.algorithm=fedavg --out "$x"
expect ranks "fedavg: ranks > clients+1" 2 "4 MPI ranks host 3 client ranks but \[data\] clients = 2; run at most 3 ranks" "$x" -- "${mpi[@]}" -np 4 "$bin" train "$smoke" --set train.algorithm=fedavg --set data.clients=2 --out "$x"
expect ranks "centralized on 2 ranks" 2 "\[train\] algorithm = centralized runs on one rank but 2 were started" "$x" -- "${mpi[@]}" -np 2 "$bin" train "$smoke" --out "$x"
expect ranks "allreduce: clients < ranks" 2 "\[data\] clients = 2 but 3 ranks: .*raise \[data\] clients to >= 3 or run fewer ranks" "$x" -- "${mpi[@]}" -np 3 "$bin" train "$smoke" --set train.algorithm=allreduce --set data.clients=2 --out "$x"
expect ranks "dpsgd: hypercube on 3 ranks" 2 "hypercube\(N=3\): N must be a power of two" "$x" -- "${mpi[@]}" -np 3 "$bin" train "$smoke" --set train.algorithm=dpsgd --set data.clients=6 --set topology.graph=hypercube --out "$x"
expect ranks "dpsgd: degree >= ranks" 2 "random-regular\(N=3, d=3, seed=1\): --degree must be in \[0, N-1\]" "$x" -- "${mpi[@]}" -np 3 "$bin" train "$smoke" --set train.algorithm=dpsgd --set data.clients=6 --set topology.graph=random-regular --set topology.degree=3 --out "$x"
d=(--set train.algorithm=dpsgd --set data.clients=8 --set run.rounds=2 "${c[@]}")
"${mpi[@]}" -np 4 "$bin" train "$smoke" "${d[@]}" --out "$T/drun" 2>/dev/null
expect ranks "dpsgd resume on 3 of 4 ranks" 2 "holds the state of 4 ranks.*mpirun -np 4" "$T/drun" -- "${mpi[@]}" -np 3 "$bin" train "$smoke" "${d[@]}" --set run.rounds=3 --out "$T/drun" --resume latest
f=(--set train.algorithm=fedavg --set data.clients=4 --set train.sample_fraction=0.5 --set sparsity.method=snip
   --set sparsity.density=0.5 --set run.rounds=2 "${c[@]}")
"${mpi[@]}" -np 3 "$bin" train "$smoke" "${f[@]}" --out "$T/frun" 2>/dev/null
expect ranks "fedavg resume: changed density" 2 "written with \[sparsity\] density = 0\.5, not 0\.3" "$T/frun" -- "${mpi[@]}" -np 3 "$bin" train "$smoke" "${f[@]}" --set sparsity.density=0.3 --set run.rounds=3 --out "$T/frun" --resume latest
# an MPI without thread support (Open MPI always has it: the test hook plays the library)
expect ranks "MPI_THREAD_SINGLE only" 1 "^salient train: rank 0: the MPI library provides MPI_THREAD_SINGLE, but salient needs MPI_THREAD_FUNNELED" "$x" -- env SALIENT_TEST_MPI_THREAD_SINGLE=1 "$bin" train "$smoke" --out "$x"
expect ranks "topo: random-regular odd N*d" 2 "random-regular\(N=5, d=3, seed=1\): N\*d = 15 is odd.*change --nodes or --degree" - -- "$bin" topo --graph random-regular --nodes 5 --degree 3
expect ranks "topo: hypercube of 12" 2 "hypercube\(N=12\): N must be a power of two \(8 or 16 are the nearest\)" - -- "$bin" topo --graph hypercube --nodes 12
expect ranks "topo: disconnected erdos-renyi" 2 "erdos-renyi\(N=10, p=0, seed=1\) is not connected; raise p or change seed" - -- "$bin" topo --graph erdos-renyi --nodes 10 --p 0
expect ranks "topo: prime torus" 2 "torus\(N=7\): N must be composite" - -- "$bin" topo --graph torus --nodes 7
expect ranks "topo: unknown graph" 2 "unknown graph 'frob' \(graphs: ring, torus" - -- "$bin" topo --graph frob --nodes 10
expect ranks "topo: nodes 0" 2 "--nodes: '0' is not an integer in \[1, 1048576\]" - -- "$bin" topo --graph ring --nodes 0
expect ranks "topo: nodes not a number" 2 "--nodes: 'abc' is not an integer" - -- "$bin" topo --graph ring --nodes abc
expect ranks "topo: p > 1" 2 "--p: '1\.5' is not a probability in \[0, 1\]" - -- "$bin" topo --graph erdos-renyi --nodes 10 --p 1.5
expect ranks "topo: bad weights" 2 "--weights: 'foo' is not mh or uniform" - -- "$bin" topo --graph ring --nodes 8 --weights foo
expect ranks "topo: missing --graph" 2 "--graph is required" - -- "$bin" topo --nodes 8
expect ranks "topo: --degree without value" 2 "--degree needs a value" - -- "$bin" topo --graph ring --nodes 8 --degree
expect ranks "topo: negative seed" 2 "--seed: '-5' is not a non-negative integer" - -- "$bin" topo --graph ring --nodes 8 --seed -5
expect ranks "topo: hypercube under mpirun" 2 "hypercube\(N=12\)" - -- "${mpi[@]}" -np 2 "$bin" topo --graph hypercube --nodes 12
expect ranks "bench: unknown benchmark" 2 "unknown benchmark 'frob'; expected allreduce.*gossip|unknown benchmark 'frob'; expected .*pack.*gossip" - -- "$bin" bench frob
expect ranks "bench: nothing to measure" 2 "missing what to measure" - -- "$bin" bench
expect ranks "bench pack: --n 0" 2 "--n '0' must be an integer in \[1, 2147483647\]" - -- "$bin" bench pack --n 0
expect ranks "bench pack: --n huge" 2 "--n '99999999999999' must be an integer" - -- "$bin" bench pack --n 99999999999999
expect ranks "bench pack: --density 2" 2 "--density '2' must be a number in \[0, 1\]" - -- "$bin" bench pack --n 100 --density 2
expect ranks "bench pack: --reps 0" 2 "--reps '0' must be an integer in \[1, 1000000\]" - -- "$bin" bench pack --n 100 --reps 0
expect ranks "bench allreduce: no --density" 2 "bench allreduce needs --density D" - -- "${mpi[@]}" -np 2 "$bin" bench allreduce --n 100
expect ranks "bench allreduce: --density -1" 2 "--density '-1' must be a number in \[0, 1\]" - -- "${mpi[@]}" -np 2 "$bin" bench allreduce --n 100 --density -1
expect ranks "bench gossip: unknown graph" 2 "salient bench gossip: unknown graph 'frob'" - -- "${mpi[@]}" -np 2 "$bin" bench gossip --graph frob --n 100
expect ranks "bench gossip: no --n" 2 "--graph and --n are required" - -- "$bin" bench gossip --graph ring
expect ranks "compare: unknown algorithm" 2 "--algorithms 'frob': unknown algorithm or graph" "$x" -- "$bin" compare "$smoke" --algorithms frob --out "$x"
expect ranks "compare: unknown graph" 2 "--algorithms 'allreduce,dpsgd:frob': unknown algorithm or graph" "$x" -- "$bin" compare "$smoke" --algorithms allreduce,dpsgd:frob --out "$x"
expect ranks "compare: no --algorithms" 2 "--algorithms is required" "$x" -- "$bin" compare "$smoke" --out "$x"
expect ranks "compare: --target 2" 2 "--target must be in \(0, 1\]" "$x" -- "$bin" compare "$smoke" --algorithms allreduce --target 2 --out "$x"
expect ranks "compare: fedavg on 1 rank" 2 "fedavg.*needs at least 2 MPI ranks" "$x" -- "$bin" compare "$smoke" --algorithms allreduce,fedavg --out "$x"
# (centralized joins any rank count: it runs on rank 0 alone; with only masks it cannot run)
expect ranks "compare: centralized, masks only" 2 "centralized: .*needs a distributed" "$x" -- "${mpi[@]}" -np 2 "$bin" compare "$smoke" --algorithms allreduce,centralized --vary sparsity.method=snip,random --out "$x"
expect ranks "compare: --vary unknown key" 2 "--vary sparsity.densty: .*densty" "$x" -- "$bin" compare "$smoke" --algorithms allreduce --vary sparsity.densty=0.5 --out "$x"
expect ranks "compare: --vary bad value" 2 "--vary sparsity.density: .*" "$x" -- "$bin" compare "$smoke" --algorithms allreduce --vary sparsity.density=0.5,7 --out "$x"
expect ranks "compare: --vary run.seed" 2 "--vary run.seed: not a study key \(--seeds" "$x" -- "$bin" compare "$smoke" --algorithms allreduce --vary run.seed=1,2 --out "$x"
expect ranks "compare: --seeds 0" 2 "--seeds '0': a whole number from 1 to 1000" "$x" -- "$bin" compare "$smoke" --algorithms allreduce --seeds 0 --out "$x"
expect ranks "compare: --point 3 of 2" 2 "--point 3: the study has points 1 to 2" "$x" -- "$bin" compare "$smoke" --algorithms allreduce,localsgd --point 3 --out "$x"
expect ranks "compare: --resume and --force" 2 "give at most one of --resume, --gather, --point and --force" "$x" -- "$bin" compare "$smoke" --algorithms allreduce --resume --force --out "$x"
expect ranks "compare: --gather, no study" 2 "study.ini' not found: no study in '.*' to gather" - -- "$bin" compare "$smoke" --algorithms allreduce --gather --out "$T/nostudy"
expect ranks "compare: duplicate algorithm" 2 "allreduce.*(twice|more than once|duplicate)" "$x" -- "$bin" compare "$smoke" --algorithms allreduce,allreduce --out "$x"

# ============================== output ==============================
echo hi >"$T/afile"
expect output "out is a file" 2 "'.*afile' exists and is not a directory \(set --out DIR\)" - -- "$bin" train "$smoke" --out "$T/afile"
expect output "out under a file" 2 "cannot create directory '.*afile/sub': Not a directory \(set --out DIR\)" - -- "$bin" train "$smoke" --out "$T/afile/sub"
expect output "out under /proc" 2 "cannot create directory '/proc/x': .* \(set --out DIR\)" - -- "$bin" train "$smoke" --out /proc/x/run
expect output "out under /sys" 2 "cannot create directory '/sys/x': .* \(set --out DIR\)" - -- "$bin" train "$smoke" --out /sys/x
expect output "compare: out is a file" 2 "afile" - -- "$bin" compare "$smoke" --algorithms allreduce --out "$T/afile"
# --out over 1023 characters is refused, never silently shortened; one whose checkpoint names
# Open MPI's MPI-IO cannot take (a 256-byte buffer: name + ".locktest." + rank) is refused before
# round 1 (it used to train, then abort inside MPI_File_open at the first checkpoint). A
# checkpoint name is DIR + "/ckpt/.round-000001.h5.tmp" (26): DIR of 219 characters makes 245.
expect output "--out over 1023 characters" 2 "--out: the output directory '.*\.\.\.' is longer than 1023 characters; choose a shorter one" "$x" -- "$bin" train "$smoke" --out "$x/$(printf 'L%.0s' {1..1100})"
pad=$((219 - ${#x} - 1))
expect output "--out too long for MPI-IO" 2 "output directory '.*\.\.\.' is too long for checkpoints: their names would be 245 characters, and Open MPI's MPI-IO takes at most 244; choose a shorter --out" "$x" -- "$bin" train "$smoke" --out "$x/$(printf 'm%.0s' $(seq $pad))"
expect output "compare: --out too long for MPI-IO" 2 "allreduce: output directory '.*' is too long for checkpoints" "$x" -- "$bin" compare "$smoke" --algorithms allreduce --out "$x/$(printf 'm%.0s' $(seq $((pad - 6))))"
mkdir -p "$T/o1/config.ini"
expect output "config.ini is a directory" 2 "o1/config\.ini" "$T/o1" -- "$bin" train "$smoke" --out "$T/o1"
mkdir -p "$T/o2/metrics.csv"
expect output "metrics.csv is a directory" 2 "o2/metrics\.csv" "$T/o2" -- "$bin" train "$smoke" --out "$T/o2"
mkdir -p "$T/o3" && echo hi >"$T/o3/ckpt"
expect output "ckpt is a file" 2 "o3/ckpt' exists and is not a directory" "$T/o3" -- "$bin" train "$smoke" --out "$T/o3"
# a directory the user cannot write: as root, run as nobody; otherwise chmod is enough
chmod 755 "$tmp"; mkdir -m 777 "$T/pub"; mkdir -m 555 "$T/pub/ro"
asuser=()
# (leak checking off for these two: LeakSanitizer stops the threads with ptrace at exit, which a
# process that dropped root may not do on every kernel; here it died "Tracer caught signal 11".
# Every other case keeps the check.)
if [[ $(id -u) == 0 ]]; then command -v setpriv >/dev/null && asuser=(setpriv --reuid=65534 --regid=65534 --clear-groups
  env "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"); fi
if [[ $(id -u) != 0 || ${#asuser[@]} != 0 ]] && "${asuser[@]}" test -x "$bin" -a -r "$smoke"; then
  expect output "read-only parent" 2 "cannot create directory '.*pub/ro/run': Permission denied \(set --out DIR\)" - -- "${asuser[@]}" "$bin" train "$smoke" --out "$T/pub/ro/run"
  expect output "read-only out dir" 2 "pub/ro.*Permission denied" "$T/pub/ro" -- "${asuser[@]}" "$bin" train "$smoke" --out "$T/pub/ro"
  cp "$smoke" "$T/pub/secret.ini" && chmod 000 "$T/pub/secret.ini"
  expect config "unreadable config" 2 "cannot read config file '.*pub/secret\.ini': permission denied \(it exists; give the user running salient read access\)" - -- "${asuser[@]}" "$bin" train "$T/pub/secret.ini" --out "$T/pub/srun"
else
  skip_part "cli_badinput: the permission cases (root without setpriv cannot drop to another user)"
fi

# a directory that holds a run's results (train and compare), or that another run holds
expect output "rerun into a run's directory" 2 "^salient train: output directory '.*/run' already holds results \(metrics\.csv\); continue that run with --resume latest, overwrite it with --force, or choose another --out$" "$T/run" -- "$bin" train "$smoke" --out "$T/run"
expect output "fedavg rerun into a run's directory" 2 "output directory '.*/frun' already holds results \(metrics\.csv\)" "$T/frun" -- "${mpi[@]}" -np 3 "$bin" train "$smoke" "${f[@]}" --out "$T/frun"
"$bin" compare "$smoke" --algorithms allreduce --out "$T/cmp" 2>/dev/null
expect output "compare into a compare's directory" 2 "^salient compare: output directory '.*/cmp' already holds a study \(study\.ini\); continue it with --resume, overwrite it with --force, or choose another --out$" "$T/cmp" -- "$bin" compare "$smoke" --algorithms allreduce --out "$T/cmp"
expect output "compare --resume, another study" 2 "cmp/study\.ini' describes another study \(it has 'algorithms = allreduce' where this one has 'algorithms = localsgd'\)" "$T/cmp" -- "$bin" compare "$smoke" --algorithms localsgd --out "$T/cmp" --resume
mkdir -p "$T/cmp2" && cp -a "$T/cmp/allreduce" "$T/cmp2/"
expect output "compare over a run's directory" 2 "output directory '.*/cmp2/allreduce' already holds results \(metrics\.csv\)" "$T/cmp2" -- "$bin" compare "$smoke" --algorithms localsgd,allreduce --out "$T/cmp2"
expect output "--resume with --force" 2 "^salient train: --resume continues the run in the output directory and --force overwrites it; give one of them$" "$T/run" -- "$bin" train "$smoke" --out "$T/run" --resume latest --force
# a run holding busy/'s lock, stopped so that the directory stays still while the case runs; not
# a child of this shell (the queue's `wait` would wait for it)
( "$bin" train "$smoke" --set run.rounds=1000000 --set checkpoint.every=0 --out "$T/busy" >/dev/null 2>&1 & echo $! >"$T/busy.pid" )
busy=$(cat "$T/busy.pid")
trap 'kill -KILL "$busy" 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 300); do [[ -s $T/busy/metrics.csv ]] && break; sleep 0.1; done
kill -STOP "$busy"
expect output "directory in use" 2 "^salient train: output directory '.*/busy' is in use: process $busy holds its lock '.*/busy/\.salient\.lock'; wait for that run to end, or choose another --out$" "$T/busy" -- "$bin" train "$smoke" --out "$T/busy" --force
expect output "directory in use (compare)" 2 "output directory '.*/busy' is in use: process $busy holds its lock" "$T/busy" -- "$bin" compare "$smoke" --algorithms allreduce --out "$T/busy" --force

# ============================== numeric ==============================
# a diverged run: exit 1 and one error line naming lr, after the banner; no summary.json
diverge "centralized lr=100" "round 1: training loss is not finite \(diverged\); lower \[train\] lr \(now 100\)" -- "$bin" train "$smoke" --set train.lr=100 --out "$x"
diverge "allreduce lr=100" "round 1: the loss is not finite \(diverged\); lower \[train\] lr \(now 100\)" -- "${mpi[@]}" -np 2 "$bin" train "$smoke" --set train.algorithm=allreduce --set data.clients=4 --set train.lr=100 --out "$x"
diverge "fedavg lr=100" "round 1: .*not finite \(diverged\); lower \[train\] lr \(now 100\)" -- "${mpi[@]}" -np 3 "$bin" train "$smoke" --set train.algorithm=fedavg --set data.clients=4 --set train.lr=100 --out "$x"

wait
kill -KILL "$busy"
for v in "$tmp"/verdict.[0-9][0-9][0-9][0-9]; do
  if [[ $(cat "$v") == ok ]]; then ok; else bad "$(cat "$v")"; fi
done
summary="cli_badinput:"
total=0
for k in "${order[@]}"; do summary+=" $k ${ncase[$k]},"; total=$((total + ncase[$k])); done
echo "${summary%,} (total $total)"
# seconds from start to the verdict, per category (6 cases at a time share the 2 cores)
cat "$tmp"/verdict.*.t | awk '{ n[$1]++; s[$1] += $2; if ($2 > m[$1]) m[$1] = $2 }
  END { printf "cli_badinput: seconds to a clear failure (mean / max):"
        for (k in n) printf " %s %.1f / %.1f;", k, s[k] / n[k], m[k]; printf "\n" }' 
finish cli_badinput
