# shellcheck shell=bash
# jobs/lib/common.sh - helpers shared by jobs/scaling.sh, jobs/compare-study.sh,
# jobs/study.sbatch and jobs/gather.sbatch. Source it; set JL_PROG to the caller's name first.
# Plain bash + awk/sed (mawk is enough): nothing here needs python.

: "${JL_PROG:=jobs}"

jl_die() { echo "$JL_PROG: $*" >&2; exit 2; }
jl_say() { echo "$JL_PROG: $*"; }

# jl_abspath PATH: PATH made absolute (the file need not exist)
jl_abspath() {
  case $1 in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s/%s\n' "$PWD" "${1#./}" ;;
  esac
}

# jl_find_bin REPO: the salient binary, as jobs/train.sbatch finds it (SALIENT_BIN, else salient
# on PATH, else REPO/build/bin/salient), made absolute
jl_find_bin() {
  local b
  if [[ -n ${SALIENT_BIN:-} ]]; then b=$SALIENT_BIN
  elif command -v salient >/dev/null 2>&1; then b=$(command -v salient)
  else b=$1/build/bin/salient; fi
  jl_abspath "$b"
}

# jl_ini_get FILE SECTION KEY [--set s.k=v]...: the value the run will see for [SECTION] KEY:
# the last matching --set, else the file's, else empty. (Comments: lines starting # or ;.)
jl_ini_get() {
  local file=$1 sec=$2 key=$3 v="" a
  shift 3
  v=$(awk -v sec="$sec" -v key="$key" '
    { sub(/\r$/, "") }
    /^[ \t]*[#;]/ || /^[ \t]*$/ { next }
    /^[ \t]*\[/ { s = $0; gsub(/^[ \t]*\[[ \t]*|[ \t]*\].*$/, "", s); cur = s; next }
    cur == sec {
      i = index($0, "="); if (!i) next
      k = substr($0, 1, i - 1); gsub(/^[ \t]+|[ \t]+$/, "", k)
      if (k != key) next
      val = substr($0, i + 1); gsub(/^[ \t]+|[ \t]+$/, "", val); out = val
    }
    END { print out }' "$file" 2>/dev/null)
  while (($#)); do
    if [[ $1 == --set && $# -ge 2 ]]; then
      a=$2
      [[ ${a%%=*} == "$sec.$key" ]] && v=${a#*=}
      shift
    fi
    shift
  done
  printf '%s\n' "$v"
}

# jl_salient_data BIN CONFIG [--set s.k=v]...: runs `salient data` (it parses CONFIG and every
# --set exactly as train and compare will, and loads the data); prints its output; on failure
# dies with salient's first error line.
jl_salient_data() {
  local bin=$1 tmp out rc
  shift
  tmp=$(mktemp)
  out=$("$bin" data "$@" 2>"$tmp")
  rc=$?
  if ((rc)); then
    local msg
    msg=$(head -1 "$tmp")
    rm -f "$tmp"
    jl_die "${msg:-salient data $* failed (exit $rc)}"
  fi
  rm -f "$tmp"
  printf '%s\n' "$out"
}

# jl_data_field TEXT NAME: from `salient data` output, the number after "NAME:" (train: 512
# samples -> 512)
jl_data_field() { printf '%s\n' "$1" | awk -v n="$2:" '$1 == n { print $2; exit }'; }

# jl_is_num S: S is a non-negative decimal number
jl_is_num() { [[ $1 =~ ^([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][-+]?[0-9]+)?$ ]]; }
jl_is_int() { [[ $1 =~ ^[1-9][0-9]*$ ]]; }
jl_is_time() { [[ $1 =~ ^([0-9]+-)?[0-9]+(:[0-9]{1,2}){0,2}$ ]]; }

# jl_parse "--opt:VAR ..." ARGS...: the study scripts' command line. Each --opt VALUE in the
# spec is stored in VAR; --set K=V is appended to the array sets; --test-only sets test=1;
# -h/--help runs the script's usage and exits 0; the one argument that is not an option is cfg.
# Unknown options, a missing value and a second CONFIG.ini are one-line errors (jl_die).
jl_parse() {
  local spec=$1 o var
  shift
  while (($#)); do
    case $1 in
      -h | --help) usage; exit 0 ;;
      --test-only) test=1; shift; continue ;;
      --set) (($# >= 2)) || jl_die "--set needs a value (see --help)"; sets+=(--set "$2"); shift 2; continue ;;
      -*)
        var=""
        for o in $spec; do [[ ${o%%:*} == "$1" ]] && var=${o#*:}; done
        [[ -n $var ]] || jl_die "unknown option '$1' (see --help)"
        (($# >= 2)) || jl_die "$1 needs a value (see --help)"
        printf -v "$var" '%s' "$2"
        shift 2 ;;
      *) [[ -z $cfg ]] || jl_die "one CONFIG.ini only ('$cfg', then '$1')"; cfg=$1; shift ;;
    esac
  done
}

# jl_check_outdir DIR: DIR does not exist, or is an empty directory (a study never reuses a
# directory: train.sbatch would resume a point from an old checkpoint, gather would mix runs)
jl_check_outdir() {
  if [[ -e $1 ]]; then
    [[ -d $1 ]] || jl_die "--out $1 exists and is not a directory"
    [[ -z $(ls -A "$1") ]] || jl_die "--out $1 exists and is not empty (old results would be resumed or gathered): choose another --out or remove it"
  fi
}

# jl_sbatch TESTONLY ARGS...: sbatch --parsable ARGS (adding --test-only when TESTONLY=1).
# Prints the job id (real run) or, with --test-only, Slurm's verdict ("Job N to start at ...
# using C processors on nodes X"); on failure prints sbatch's message on stderr and returns 1.
jl_sbatch() {
  local test=$1 out err rc
  shift
  err=$(mktemp)
  if ((test)); then
    out=$(sbatch --test-only "$@" 2>"$err")
  else
    out=$(sbatch --parsable "$@" 2>"$err")
  fi
  rc=$?
  if ((test)) && ((rc == 0)); then
    sed -n 's/^sbatch: //p' "$err" | tail -1
    rm -f "$err"
    return 0
  fi
  if ((rc)) || [[ -z $out ]]; then
    sed 's/^/  /' "$err" >&2
    rm -f "$err"
    return 1
  fi
  grep -v '^$' "$err" | sed 's/^/  /' >&2
  rm -f "$err"
  printf '%s\n' "${out%%;*}"
}

# jl_cancel ID...: scancel the jobs this driver already queued (used when a later submission fails)
jl_cancel() {
  (($#)) || return 0
  scancel "$@" 2>/dev/null && echo "$JL_PROG: cancelled job(s) $*" >&2
}

# jl_yield_env: what jobs/train.sbatch does for its ranks: OpenBLAS threads = CPUs per task
# (or 1), and OMPI_MCA_mpi_yield_when_idle=1 when a node holds more ranks than CPUs
jl_yield_env() {
  local ntasks=${SLURM_NTASKS:-1} nodes=${SLURM_JOB_NUM_NODES:-1} cpus per
  export OPENBLAS_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}
  cpus=${SLURM_CPUS_ON_NODE:-$(nproc)}
  per=$(((ntasks + nodes - 1) / nodes))
  if ((per * OPENBLAS_NUM_THREADS > cpus || $(nproc) < per)); then
    export OMPI_MCA_mpi_yield_when_idle=1
  fi
}

# jl_gnuplot_term: the PNG terminal gnuplot has (pngcairo, else png); empty (and status 1)
# when gnuplot or both terminals are missing
jl_gnuplot_term() {
  command -v gnuplot >/dev/null 2>&1 || return 1
  local t
  for t in pngcairo png; do
    if gnuplot -e "set terminal $t" </dev/null >/dev/null 2>&1; then echo "$t"; return 0; fi
  done
  return 1
}

# jl_json_get FILE KEY...: the values of the top-level KEYs of a flat JSON object (summary.json),
# tab-separated in the order asked, strings without their quotes, absent keys empty
jl_json_get() {
  local file=$1
  shift
  awk -v keys="$*" '
    { s = s $0 " " }
    END {
      n = split(keys, k, " ")
      for (i = 1; i <= n; i++) {
        v = ""; t = s
        if (match(t, "\"" k[i] "\"[ \t]*:[ \t]*")) {
          t = substr(t, RSTART + RLENGTH)
          if (substr(t, 1, 1) == "\"") { t = substr(t, 2); v = substr(t, 1, index(t, "\"") - 1) }
          else { match(t, /^[^,}]*/); v = substr(t, 1, RLENGTH); gsub(/[ \t]/, "", v) }
        }
        printf "%s%s", v, (i < n ? "\t" : "\n")
      }
    }' "$file"
}

# jl_study_get DIR KEY: the first "KEY = value" of DIR/study.ini
jl_study_get() {
  sed -n "s/^[[:space:]]*$2[[:space:]]*=[[:space:]]*//p" "$1/study.ini" 2>/dev/null | head -1 | sed 's/[[:space:]]*$//'
}

# jl_atomic_write FILE: stdin to FILE through a temporary file in the same directory
jl_atomic_write() {
  local tmp
  tmp=$(mktemp "$1.XXXXXX") || return 1
  cat >"$tmp" && chmod 644 "$tmp" && mv -f "$tmp" "$1"
}
