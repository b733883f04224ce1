# benchmarks/lib/vcluster.sh - helpers for benchmarks run on the virtual cluster
# (jobs/vcluster/vcluster); sourced by benchmarks/vcluster_scaling.sh and vcluster_net.sh. Defines:
#   vc_load WHAT             a comment line: load average and busy processes now
#   vc_rate_bits RATE        bits per second of a tc rate (kbit/mbit/gbit: 10^3/6/9 bits;
#                            kbps/mbps/gbps: bytes)
#   vc_launch WHAT LIMIT STDOUT STDERR CMD...
#                            runs CMD under `timeout LIMIT`, up to 3 tries; each failed try is
#                            reported as a "# RETRY:" line and counted in $VC_RETRIES. Open MPI
#                            4.1.4's TCP BTL here sometimes delivers a peer's first message to
#                            a rank still inside MPI_Init (SIGSEGV there, one launch in a few
#                            dozen on 4 nodes); srun -K then ends the step instead of leaving
#                            the other ranks in their first collective. $VC_RETRY_CLEAN, if
#                            set, is removed before each retry.
#   vc_up PROG ERR VC ARGS...
#                            `VC up ARGS...` (VC = jobs/vcluster/vcluster)
#                            and $VC_ARGS (e.g. "--cpu-bind node", "--tcp-cc host"), its
#                            stderr in ERR, evals the environment it prints and prints a
#                            "# nodes:" line (TCP congestion control, CPU binding); where a
#                            cluster cannot run here, says "PROG: SKIPPED" and exits 77; a
#                            failed start exits 1
#   vc_header ROOT           the "# machine:", "# date:" lines every results file starts with
#   vc_wait_job ID [LIMIT]   waits (1 s polls) until Slurm job ID has left the queue; returns 1
#                            after LIMIT seconds (default 900), cancelling it
VC_RETRIES=${VC_RETRIES:-0}

vc_load() {
  echo "# load average $(cut -d' ' -f1-3 /proc/loadavg) ($1); $(ps -eo pcpu=,comm= --sort=-pcpu |
    awk '$1 >= 10 { n++; s += $1 } END { printf "%d processes above 10%% CPU, %.0f%% in all", n, s }')"
}

vc_up() {
  local prog=$1 err=$2 vc=$3 up rc
  shift 3
  # shellcheck disable=SC2086 # VC_ARGS is a list of options
  up=$("$vc" up "$@" ${VC_ARGS:-} 2>"$err")
  rc=$?
  if ((rc == 77)); then echo "$prog: SKIPPED: $(tail -1 "$err")"; exit 77; fi
  ((rc == 0)) || { echo "$prog: vcluster up failed ($rc): $(tail -3 "$err")" >&2; exit 1; }
  eval "$up"
  echo "# nodes: TCP congestion control $(sed -n 's/^tcp_cc=//p' "$VCLUSTER_DIR/vcluster.state"),"\
    "CPU binding $(sed -n 's/^cpu_bind=//p' "$VCLUSTER_DIR/vcluster.state"),"\
    "tbf burst $(sed -n 's/^burst=//p' "$VCLUSTER_DIR/vcluster.state") (jobs/vcluster/vcluster up ${VC_ARGS:-})"
}

vc_header() {
  echo "# machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores shared by every node (and"
  echo "#   anything else running here); Open MPI $(mpirun --version 2>/dev/null | sed -n 's/.*(Open MPI) //p'); $(uname -r)"
  echo "# date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit $(git -C "$1" rev-parse --short HEAD 2>/dev/null)$(
    git -C "$1" diff --quiet HEAD 2>/dev/null || echo ' (+ local changes)')"
}

vc_rate_bits() {
  awk -v r="$1" 'BEGIN { m = r; sub(/[a-z]+$/, "", m); u = substr(r, length(m) + 1)
    f["bit"] = 1; f["kbit"] = 1e3; f["mbit"] = 1e6; f["gbit"] = 1e9; f["tbit"] = 1e12
    f["bps"] = 8; f["kbps"] = 8e3; f["mbps"] = 8e6; f["gbps"] = 8e9
    if (u == "") u = "bit"; if (!(u in f)) exit 1; printf "%.0f\n", m * f[u] }'
}

vc_launch() {
  local what=$1 limit=$2 so=$3 se=$4 try rc
  shift 4
  for try in 1 2 3; do
    timeout "$limit" "$@" >"$so" 2>"$se"
    rc=$?
    ((rc == 0)) && return 0
    VC_RETRIES=$((VC_RETRIES + 1))
    echo "# RETRY: $what: try $try failed (rc $rc$( ((rc == 124)) && echo ", hung ${limit} s")$(
      grep -q "Segmentation fault" "$se" && echo ", a rank died of SIGSEGV")): $(grep -v '^\[' "$se" | tail -1)"
    [[ -n ${VC_RETRY_CLEAN:-} ]] && rm -rf "$VC_RETRY_CLEAN"
  done
  echo "$what failed 3 times: $(tail -3 "$se")" >&2
  return 1
}

vc_wait_job() {
  local id=$1 limit=${2:-900} t=0
  while [[ -n $(squeue -h -j "$id" -o %T 2>/dev/null) ]]; do
    sleep 1
    t=$((t + 1))
    if ((t >= limit)); then scancel "$id" 2>/dev/null; return 1; fi
  done
  return 0
}
