# shellcheck shell=bash
# scripts/lib/slurm-common.sh - a private Slurm (munged + slurmctld + slurmd) whose state lives
# in one directory: the parts shared by scripts/slurm-local (one node on this machine) and
# jobs/vcluster/vcluster (one node per network namespace). Source it after setting PROG (the
# prefix of every message). The starters use the caller's globals DIR (the cluster directory;
# DIR/pids holds one "NAME PID" line per daemon started), FAILLOG (the log whose tail `fail`
# shows) and set LASTPID; on errors they call the caller's `fail MESSAGE` (which cleans up and
# exits).

say()  { printf '%s: %s\n' "$PROG" "$*" >&2; }
now_ms() { date +%s%3N; }

# ---------------------------------------------------------------------------------------------
# processes

# sc_alive PID NAME: PID is running and its command is NAME (guards against recycled pids)
sc_alive() {
  local pid=$1 name=$2 comm
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
  [[ $comm == "$name" ]] || return 1
  # a zombie is not alive
  ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null
}

# sc_stop_pid NAME PID: SIGTERM, wait up to 10 s, then SIGKILL (and wait up to 2 s)
sc_stop_pid() {
  local name=$1 pid=$2 i
  sc_alive "$pid" "$name" || return 0
  kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < 100; i++)); do
    sc_alive "$pid" "$name" || { say "stopped $name ($pid)"; return 0; }
    sleep 0.1
  done
  say "$name ($pid) ignored SIGTERM for 10 s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null
  for ((i = 0; i < 20; i++)); do
    sc_alive "$pid" "$name" || return 0
    sleep 0.1
  done
  say "warning: $name ($pid) still running after SIGKILL"
  return 1
}

# sc_pid_of DIR NAME: the (last) pid recorded for NAME in DIR/pids
sc_pid_of() { awk -v n="$2" '$1 == n { p = $2 } END { if (p != "") print p }' "$1/pids" 2>/dev/null; }
# sc_pids_of DIR NAME: every pid recorded for NAME in DIR/pids, in order
sc_pids_of() { awk -v n="$2" '$1 == n { print $2 }' "$1/pids" 2>/dev/null; }

# sc_stepds_in DIR: pids of slurmstepd processes holding a file under DIR (its spool sockets)
sc_stepds_in() {
  local dir=$1 p fd t
  for p in /proc/[0-9]*; do
    [[ $(cat "$p/comm" 2>/dev/null) == slurmstepd ]] || continue
    for fd in "$p"/fd/*; do
      t=$(readlink "$fd" 2>/dev/null) || continue
      if [[ $t == "$dir"/* ]]; then echo "${p#/proc/}"; break; fi
    done
  done
}

# sc_stop_cluster DIR [HOOK]: cancel the cluster's jobs, then stop everything recorded in
# DIR/pids: every slurmd, the slurmstepds left holding files in DIR, HOOK (a command the caller
# names, run here when given), slurmctld, munged
sc_stop_cluster() {
  local dir=$1 hook=${2:-} pid rc=0 ids i
  pid=$(sc_pid_of "$dir" slurmctld)
  if [[ -n $pid ]] && sc_alive "$pid" slurmctld && [[ -f $dir/slurm.conf ]]; then
    ids=$(SLURM_CONF=$dir/slurm.conf timeout 5 squeue -h -o %A 2>/dev/null | tr '\n' ' ')
    if [[ -n ${ids// /} ]]; then
      say "cancelling jobs: $ids"
      # shellcheck disable=SC2086
      SLURM_CONF=$dir/slurm.conf timeout 5 scancel $ids 2>/dev/null
      for ((i = 0; i < 100; i++)); do      # KillWait=5: tasks get SIGKILL 5 s after SIGTERM
        [[ -z $(SLURM_CONF=$dir/slurm.conf timeout 5 squeue -h -t R,CG,S -o %A 2>/dev/null) ]] && break
        sleep 0.1
      done
    fi
  fi
  for pid in $(sc_pids_of "$dir" slurmd); do sc_stop_pid slurmd "$pid" || rc=1; done
  for pid in $(sc_stepds_in "$dir"); do sc_stop_pid slurmstepd "$pid" || rc=1; done
  if [[ -n $hook ]]; then "$hook" "$dir" || rc=1; fi
  pid=$(sc_pid_of "$dir" slurmctld); [[ -n $pid ]] && { sc_stop_pid slurmctld "$pid" || rc=1; }
  pid=$(sc_pid_of "$dir" munged);    [[ -n $pid ]] && { sc_stop_pid munged "$pid" || rc=1; }
  return $rc
}

# ---------------------------------------------------------------------------------------------
# starting

sc_port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# sc_free_ports [FIRST [LAST]]: the first SlurmctldPort P among FIRST, FIRST+10, ..., LAST
# (default 16817 .. 16907) with P and P+1 free on this machine; status 1 when none is
sc_free_ports() {
  local p first=${1:-16817} last=${2:-16907}
  for ((p = first; p <= last; p += 10)); do
    sc_port_busy "$p" || sc_port_busy $((p + 1)) || { echo "$p"; return 0; }
  done
  return 1
}

# sc_require SKIP BIN...: each BIN is on PATH (or in /usr/sbin, /sbin); else calls SKIP REASON.
# Adds /usr/sbin:/sbin to PATH.
sc_require() {
  local skipfn=$1 b
  shift
  for b in "$@"; do
    command -v "$b" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin:/sbin command -v "$b" >/dev/null 2>&1 ||
      "$skipfn" "'$b' not found (apt-get install slurm-wlm munge)"
  done
  export PATH=$PATH:/usr/sbin:/sbin
}

# sc_plugdir: Slurm's plugin directory (the one holding mpi_pmix.so); empty when not found
sc_plugdir() {
  local plugdir
  for plugdir in /usr/lib/x86_64-linux-gnu/slurm-wlm /usr/lib/aarch64-linux-gnu/slurm-wlm \
                 /usr/lib64/slurm /usr/lib/slurm ""; do
    [[ -z $plugdir || -f $plugdir/mpi_pmix.so ]] && break
  done
  [[ -n $plugdir ]] || plugdir=$(dirname "$(find /usr/lib* -name mpi_pmix.so -path '*slurm*' 2>/dev/null | head -1)" 2>/dev/null)
  [[ -n $plugdir && -f $plugdir/mpi_pmix.so ]] && echo "$plugdir"
}

# sc_check_search DIR: every directory above DIR is searchable by others (munge clients and
# munged's own checks need that to reach the socket); else fail
sc_check_search() {
  local a=$1
  while [[ $a != / ]]; do
    a=$(dirname -- "$a")
    [[ $(stat -c %A -- "$a") == ?????????[xt] ]] || fail "$a lacks o+x; munge clients could not reach the socket (chmod o+x $a, or use another --dir)"
  done
}

# sc_start NAME LOG CMD...: start CMD (a daemon in its foreground mode) detached, record its pid
# in DIR/pids as NAME, set LASTPID; waits (up to 2.5 s) until the pid runs NAME or has exited
sc_start() {
  local name=$1 log=$2; shift 2
  # setsid: own session, immune to the caller's ^C; no fd of ours may stay open (the caller
  # reads our stdout through $(...) until EOF)
  setsid "$@" </dev/null >>"$log" 2>&1 &
  local pid=$! i
  echo "$name $pid" >>"$DIR/pids"
  LASTPID=$pid
  # until exec completes, /proc/PID/comm reads the caller's name or "setsid"
  for ((i = 0; i < 50; i++)); do
    sc_alive "$pid" "$name" && return 0
    [[ -e /proc/$pid ]] || return 0
    sleep 0.05
  done
}

# sc_start_munged: a munged with its own key and socket DIR/munge/munge.socket (DIR/munge and
# DIR/log exist), checked by a munge round trip
sc_start_munged() {
  local sock=$DIR/munge/munge.socket mpid i
  say "starting munged (socket $sock)"
  mungekey --create --keyfile="$DIR/munge/munge.key" --bits=1024 >/dev/null 2>&1 ||
    dd if=/dev/urandom of="$DIR/munge/munge.key" bs=128 count=1 status=none ||
    fail "cannot create the munge key"
  chmod 0400 "$DIR/munge/munge.key"
  FAILLOG=$DIR/log/munged.log
  sc_start munged "$FAILLOG" munged --foreground --force --socket="$sock" \
    --key-file="$DIR/munge/munge.key" --pid-file="$DIR/run/munged.pid" \
    --log-file="$FAILLOG" --seed-file="$DIR/munge/munged.seed" --num-threads=2
  mpid=$LASTPID
  for ((i = 0; i < 50; i++)); do
    [[ -S $sock ]] && break
    sc_alive "$mpid" munged || fail "munged exited at start"
    sleep 0.1
  done
  [[ -S $sock ]] || fail "munged did not create $sock within 5 s"
  munge --socket="$sock" -n 2>/dev/null | unmunge --socket="$sock" >/dev/null 2>&1 ||
    fail "munge round trip through $sock failed"
}

# sc_slurm_conf ORIGIN CLUSTER CTLHOST CTLPORT DPORT PLUGDIR DPIDFILE DLOGFILE: the settings
# every private cluster shares, on stdout; the caller appends its NodeName and PartitionName
# lines. ORIGIN names the generator in the first comment line.
sc_slurm_conf() {
  local origin=$1 cluster=$2 ctlhost=$3 ctl_port=$4 d_port=$5 plugdir=$6 dpid=$7 dlog=$8
  cat <<EOF
# generated by $origin, everything under $DIR
ClusterName=$cluster
SlurmctldHost=$ctlhost
SlurmctldPort=$ctl_port
SlurmdPort=$d_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire also delays a requeued job's restart (default 120 s)
AuthInfo=socket=$DIR/munge/munge.socket,cred_expire=10
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool/%n
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$dpid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$dlog
SlurmctldDebug=info
SlurmdDebug=info
PluginDir=$plugdir
PlugStackConfig=$DIR/plugstack.conf
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=pmix
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
# sched_interval/bf_interval: a requeued job restarts within seconds of becoming eligible
SchedulerParameters=batch_sched_delay=0,sched_interval=2,bf_interval=5
DependencyParameters=kill_invalid_depend
PreemptType=preempt/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
JobRequeue=1
MinJobAge=5
KillWait=5
SlurmdTimeout=30
InactiveLimit=0
SlurmdParameters=config_overrides
EOF
}

# sc_start_slurmctld: slurmctld on $SLURM_CONF (exported), up when `scontrol ping` says so
# (at most 10 s); sets CTLPID
sc_start_slurmctld() {
  local i
  FAILLOG=$DIR/log/slurmctld.out     # -D: the log also goes to stderr, early errors only there
  sc_start slurmctld "$FAILLOG" slurmctld -D -c -f "$SLURM_CONF"
  CTLPID=$LASTPID
  for ((i = 0; i < 100; i++)); do
    sc_alive "$CTLPID" slurmctld || fail "slurmctld exited at start"
    timeout 5 scontrol ping 2>/dev/null | grep -q 'is UP' && break
    sleep 0.1
  done
  ((i < 100)) || fail "slurmctld did not answer scontrol ping within 10 s"
}
