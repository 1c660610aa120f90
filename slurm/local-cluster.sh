#!/usr/bin/env bash
# A real single-node Slurm on this machine, for trying the sbatch scripts and for the e2e tests.
#
#   slurm/local-cluster.sh start    # install what is missing, start munged/slurmctld/slurmd, wait
#   slurm/local-cluster.sh status   # exit 0 when up, 3 when down, 1 when half up
#   slurm/local-cluster.sh env      # prints `export SLURM_CONF=...` (eval it before sbatch)
#   slurm/local-cluster.sh stop     # cancels every job, stops only the daemons it started
#
# Needs root. Runs the daemons by hand (no systemd) from Debian's munge, slurmctld, slurmd and
# slurm-client packages. Everything lives under $AEPIPE_SLURM_DIR (default
# /var/lib/aepipe-slurm): etc/slurm.conf, spool/, log/, run/*.pid, munge/. Daemons are stopped
# by their pid files only. A munged that was already running is used and left alone. Finished
# jobs stay in `scontrol show job` for 10 minutes; log/jobcomp.log keeps a line per job.
#
# Clients (sbatch, squeue, scontrol) find the config through /etc/slurm/slurm.conf when that
# path is free: start links it to ours and stop removes the link. When it belongs to another
# setup it is left untouched and start prints `export SLURM_CONF=...` instead.
#
# Settings (environment): AEPIPE_SLURM_DIR, AEPIPE_SLURM_START_TIMEOUT (seconds, default 60),
# AEPIPE_SLURMCTLD_PORT (6817), AEPIPE_SLURMD_PORT (6818), AEPIPE_SLURM_CRED_EXPIRE (10; also
# how long a requeued job waits before it may start again, Slurm's default is 120).
set -euo pipefail

DIR=${AEPIPE_SLURM_DIR:-/var/lib/aepipe-slurm}
CONF=$DIR/etc/slurm.conf
RUN=$DIR/run
LOG=$DIR/log
SPOOL=$DIR/spool
MARK=$DIR/state
MUNGE_DIR=$DIR/munge
CTLD_PID=$RUN/slurmctld.pid
SLURMD_PID=$RUN/slurmd.pid
MUNGED_PID=$MUNGE_DIR/munged.pid
ETC_CONF=/etc/slurm/slurm.conf
MUNGE_SOCKET=/run/munge/munge.socket.2
START_TIMEOUT=${AEPIPE_SLURM_START_TIMEOUT:-60}
CTLD_PORT=${AEPIPE_SLURMCTLD_PORT:-6817}
SLURMD_PORT=${AEPIPE_SLURMD_PORT:-6818}
CRED_EXPIRE=${AEPIPE_SLURM_CRED_EXPIRE:-10}
PARTITION=debug
NODE=$(hostname -s)
PACKAGES=(munge slurm-client slurmctld slurmd libpmix-dev)  # libpmix-dev: srun --mpi=pmix

export SLURM_CONF=$CONF  # every client call below talks to our cluster

say() { echo "local-cluster: $*"; }
die() {
  echo "local-cluster: error: $*" >&2
  exit 1
}

# pid_of FILE NAME: the pid in FILE when that process is alive and named NAME, else nothing.
pid_of() {
  local pid comm
  [[ -r $1 ]] || return 1
  pid=$(tr -dc 0-9 <"$1")
  [[ -n $pid ]] || return 1
  comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
  [[ $comm == "$2" ]] && running "$pid" || return 1
  echo "$pid"
}

# running PID: the process exists and is not a zombie waiting for init to reap it.
running() {
  local state
  state=$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null) || return 1
  [[ -n $state && $state != Z ]]
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
munge_works() { munge -n -S "$MUNGE_SOCKET" 2>/dev/null | unmunge -S "$MUNGE_SOCKET" >/dev/null 2>&1; }
ctld_up() { scontrol ping 2>/dev/null | grep -q 'is UP'; }
node_state() { sinfo -h -N -n "$NODE" -o %T 2>/dev/null | head -n 1; }

tail_logs() {
  local file
  for file in "$@"; do
    [[ -s $file ]] || continue
    echo "---- last lines of $file" >&2
    tail -n 15 "$file" >&2
  done
}

require_root() {
  [[ $(id -u) -eq 0 ]] || die "must run as root (it starts munged, slurmctld and slurmd)"
}

ensure_packages() {
  local package missing=()
  for package in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$package")
    fi
  done
  ((${#missing[@]} == 0)) && return 0
  command -v apt-get >/dev/null || die "packages ${missing[*]} missing and there is no apt-get"
  say "installing ${missing[*]}"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } \
    >"$LOG/apt.log" 2>&1 9>&-; then
    die "could not install ${missing[*]} (see $LOG/apt.log)"
  fi
}

make_dirs() {
  install -d -m 0755 "$DIR" "$DIR/etc" "$RUN" "$LOG" "$SPOOL" "$MARK"
  install -d -m 0700 "$SPOOL/slurmctld" "$SPOOL/slurmd"
}

write_conf() {
  local cpus mem_mb
  cpus=$(nproc)
  mem_mb=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 }' /proc/meminfo)
  cat >"$CONF.tmp" <<EOF
# Written by aepipe slurm/local-cluster.sh on $(date -u +%FT%TZ); rewritten on every cold start.
ClusterName=aepipe
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire also sets how long a requeued job waits (Reason=BeginTime) before it can start
# again: Slurm's default is 120 s.
AuthInfo=socket=$MUNGE_SOCKET,cred_expire=$CRED_EXPIRE
StateSaveLocation=$SPOOL/slurmctld
SlurmdSpoolDir=$SPOOL/slurmd
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$LOG/slurmctld.log
SlurmdLogFile=$LOG/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups here: plain process tracking, no task binding, no accounting daemon.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$LOG/jobcomp.log
SchedulerType=sched/backfill
# Pending jobs whose begin time has passed (a requeued job) start at the next scheduling
# pass: keep the passes frequent, the defaults are 60 s and 30 s.
SchedulerParameters=sched_interval=2,bf_interval=2
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
EnforcePartLimits=ALL
ReturnToService=2
MailProg=/bin/true
MpiDefault=pmix
# Job records stay visible to scontrol for 10 minutes after the end (default 5).
MinJobAge=600
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
  mv -f "$CONF.tmp" "$CONF"
}

# The /etc/slurm/slurm.conf link: installed only when the path is free, removed by stop.
etc_conf_is_ours() { [[ -L $ETC_CONF && $(readlink "$ETC_CONF") == "$CONF" ]]; }
link_etc_conf() {
  if etc_conf_is_ours; then
    return 0
  fi
  if [[ -e $ETC_CONF || -L $ETC_CONF ]]; then
    return 0  # another setup's: leave it, clients need SLURM_CONF
  fi
  install -d -m 0755 "$(dirname "$ETC_CONF")"
  ln -s "$CONF" "$ETC_CONF"
  touch "$MARK/etc-conf-link"
  STARTED_NOW+=(etc-conf-link)
}
unlink_etc_conf() {
  if [[ -e $MARK/etc-conf-link ]] && etc_conf_is_ours; then
    rm -f "$ETC_CONF"
  fi
  rm -f "$MARK/etc-conf-link"
}
print_env_hint() {
  if ! etc_conf_is_ours; then
    say "$ETC_CONF is not this cluster's; point the clients at ours:"
    echo "export SLURM_CONF=$CONF"
  fi
}

STARTED_NOW=()
start_failed() {
  local reason=$1
  shift
  echo "local-cluster: error: $reason" >&2
  tail_logs "$@"
  if ((${#STARTED_NOW[@]})); then
    echo "local-cluster: stopping what this start began: ${STARTED_NOW[*]}" >&2
    rollback >/dev/null 2>&1 || true
  fi
  echo "local-cluster: error: $reason" >&2  # the reason again, as the last line
  exit 1
}

rollback() {
  local i
  for ((i = ${#STARTED_NOW[@]} - 1; i >= 0; i--)); do
    case ${STARTED_NOW[i]} in
      slurmd) stop_pid "$SLURMD_PID" slurmd ;;
      slurmctld) stop_pid "$CTLD_PID" slurmctld ;;
      munged) stop_pid "$MUNGED_PID" munged ;;
      etc-conf-link) unlink_etc_conf ;;
    esac
  done
}

start_munged() {
  local i
  if pid_of "$MUNGED_PID" munged >/dev/null; then
    return 0
  fi
  if munge_works; then
    say "munged: using the one already running (left alone by stop)"
    return 0
  fi
  if [[ ! -s /etc/munge/munge.key ]]; then
    say "creating /etc/munge/munge.key"
    runuser -u munge -- mungekey -c -k /etc/munge/munge.key
  fi
  install -d -o munge -g munge -m 0755 /run/munge
  install -d -o munge -g munge -m 0755 "$MUNGE_DIR"  # readable: status works for anyone
  if ! runuser -u munge -- munged --pid-file="$MUNGED_PID" --log-file="$MUNGE_DIR/munged.log" 9>&- \
    >"$LOG/munged.stderr" 2>&1; then
    start_failed "munged did not start" "$LOG/munged.stderr" "$MUNGE_DIR/munged.log"
  fi
  STARTED_NOW+=(munged)
  for ((i = 0; i < 50; i++)); do
    munge_works && return 0
    sleep 0.2
  done
  start_failed "munged started but $MUNGE_SOCKET does not answer" "$MUNGE_DIR/munged.log"
}

start_slurmctld() {
  local deadline=$((SECONDS + START_TIMEOUT))
  if pid_of "$CTLD_PID" slurmctld >/dev/null; then
    return 0
  fi
  if ! slurmctld -i -f "$CONF" >"$LOG/slurmctld.stderr" 2>&1 9>&-; then
    start_failed "slurmctld did not start" "$LOG/slurmctld.stderr" "$LOG/slurmctld.log"
  fi
  STARTED_NOW+=(slurmctld)
  until ctld_up; do
    if ((SECONDS > deadline)); then
      start_failed "slurmctld not answering after ${START_TIMEOUT}s" "$LOG/slurmctld.log"
    fi
    if [[ -s $CTLD_PID ]] && ! pid_of "$CTLD_PID" slurmctld >/dev/null; then
      start_failed "slurmctld died" "$LOG/slurmctld.stderr" "$LOG/slurmctld.log"
    fi
    sleep 0.3
  done
}

start_slurmd() {
  local i
  if pid_of "$SLURMD_PID" slurmd >/dev/null; then
    return 0
  fi
  if ! slurmd -N "$NODE" -f "$CONF" >"$LOG/slurmd.stderr" 2>&1 9>&-; then
    start_failed "slurmd did not start" "$LOG/slurmd.stderr" "$LOG/slurmd.log"
  fi
  STARTED_NOW+=(slurmd)
  for ((i = 0; i < 50; i++)); do
    pid_of "$SLURMD_PID" slurmd >/dev/null && return 0
    sleep 0.2
  done
  start_failed "slurmd exited" "$LOG/slurmd.stderr" "$LOG/slurmd.log"
}

wait_node_ready() {
  local deadline=$((SECONDS + START_TIMEOUT)) state resumed=0
  while :; do
    state=$(node_state)
    case $state in
      idle | mixed | allocated | completing) return 0 ;;
      drained* | draining* | down | fail*)
        if ((!resumed)); then  # e.g. left drained by an unclean stop
          scontrol update NodeName="$NODE" State=RESUME >/dev/null 2>&1 || true
          resumed=1
        fi
        ;;
    esac
    if ! pid_of "$SLURMD_PID" slurmd >/dev/null; then
      start_failed "slurmd died" "$LOG/slurmd.log"
    fi
    if ((SECONDS > deadline)); then
      start_failed "node $NODE not ready after ${START_TIMEOUT}s (state '${state:-unknown}')" \
        "$LOG/slurmd.log" "$LOG/slurmctld.log"
    fi
    sleep 0.3
  done
}

cmd_start() {
  local t0=$SECONDS
  require_root
  make_dirs
  exec 9>"$DIR/.lock"
  flock -w 300 9 || die "another start/stop is running (lock $DIR/.lock)"
  ensure_packages
  if ! pid_of "$CTLD_PID" slurmctld >/dev/null && ! pid_of "$SLURMD_PID" slurmd >/dev/null; then
    write_conf
  fi
  # Before starting anything: a port taken by another Slurm (or anything else) is fatal.
  if ! pid_of "$CTLD_PID" slurmctld >/dev/null && port_in_use "$CTLD_PORT"; then
    die "port $CTLD_PORT is taken (another slurmctld?); set AEPIPE_SLURMCTLD_PORT"
  fi
  if ! pid_of "$SLURMD_PID" slurmd >/dev/null && port_in_use "$SLURMD_PORT"; then
    die "port $SLURMD_PORT is taken (another slurmd?); set AEPIPE_SLURMD_PORT"
  fi
  start_munged
  link_etc_conf
  start_slurmctld
  start_slurmd
  wait_node_ready
  if ((${#STARTED_NOW[@]})); then
    say "up in $((SECONDS - t0))s (started ${STARTED_NOW[*]}): node $NODE, partition $PARTITION," \
      "state in $DIR"
  else
    say "already up: node $NODE, partition $PARTITION, state in $DIR"
  fi
  print_env_hint
}

# stop_pid FILE NAME: TERM the process of FILE, KILL it after 20 s.
stop_pid() {
  local pid i
  if pid=$(pid_of "$1" "$2"); then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 200; i++)); do
      running "$pid" || break
      sleep 0.1
    done
    if running "$pid"; then
      say "$2 ($pid) ignores SIGTERM; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    say "stopped $2 ($pid)"
    STOPPED_PIDS+=("$pid")
  fi
  rm -f "$1"
}

cancel_jobs() {
  local ids i
  ctld_up || return 0
  ids=$(squeue -h -o %i 2>/dev/null | tr '\n' ' ')
  [[ -n ${ids// /} ]] || return 0
  say "cancelling jobs: $ids"
  # shellcheck disable=SC2086  # one word per job id
  scancel $ids 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    [[ -z $(squeue -h -o %i 2>/dev/null) ]] && return 0
    ((i == 50)) && { squeue -h -o %i | xargs -r scancel --signal=KILL 2>/dev/null || true; }
    sleep 0.3
  done
  say "warning: jobs still listed: $(squeue -h -o '%i %T' | tr '\n' ' ')"
}

stop_daemons() {
  cancel_jobs
  stop_pid "$SLURMD_PID" slurmd
  stop_pid "$CTLD_PID" slurmctld
  stop_pid "$MUNGED_PID" munged  # only ever ours: nobody else writes this pid file
  unlink_etc_conf
  wait_reaped
}

# The init here reaps orphans every few seconds; wait so that ps shows no <defunct> daemons.
STOPPED_PIDS=()
wait_reaped() {
  local pid i
  for ((i = 0; i < 50; i++)); do
    for pid in "${STOPPED_PIDS[@]}"; do
      [[ -e /proc/$pid ]] && break
      pid=
    done
    [[ -z ${pid:-} ]] && return 0
    sleep 0.1
  done
}

cmd_stop() {
  require_root
  if [[ ! -d $DIR ]]; then
    say "not running (no $DIR)"
    return 0
  fi
  exec 9>"$DIR/.lock"
  flock -w 300 9 || die "another start/stop is running (lock $DIR/.lock)"
  stop_daemons
  say "stopped"
}

cmd_status() {
  local ctld slurmd munged up=0 down=0
  ctld=$(pid_of "$CTLD_PID" slurmctld) && up=$((up + 1)) || down=$((down + 1))
  slurmd=$(pid_of "$SLURMD_PID" slurmd) && up=$((up + 1)) || down=$((down + 1))
  munged=$(pid_of "$MUNGED_PID" munged) || munged=
  if ((up == 0)); then
    say "down (state in $DIR)"
    return 3
  fi
  echo "slurmctld: ${ctld:-not running}"
  echo "slurmd:    ${slurmd:-not running}"
  if [[ -n $munged ]]; then
    echo "munged:    $munged (ours)"
  elif munge_works; then
    echo "munged:    running, not ours"
  else
    echo "munged:    not running"
  fi
  echo "node:      $NODE $(node_state || true)"
  echo "config:    $CONF"
  if ((down)) || ! ctld_up; then
    say "partly up; run stop, then start"
    return 1
  fi
  say "up"
  print_env_hint
}

case ${1:-} in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) echo "export SLURM_CONF=$CONF" ;;
  *)
    echo "usage: $0 start|stop|status|env" >&2
    exit 2
    ;;
esac
