# Sourced by the sbatch templates in this folder (not run on its own): the part every aepipe
# batch job shares.
#
#   aepipe_job_setup           root-run MPI settings, the binary, the launcher, threads
#   aepipe_job_run ARGS...     runs `aepipe ARGS...` on every task of the allocation, forwards
#                              SIGUSR1/SIGTERM to it, requeues the job and exits when aepipe
#                              exits with 75 (stopped after a checkpoint), else returns
#                              aepipe's exit status
#
# Environment: AEPIPE (the binary; default build/aepipe under the submit folder),
# AEPIPE_LAUNCHER (default "srun --mpi=pmix"; "mpirun" where srun has no PMIx),
# AEPIPE_NO_REQUEUE=1 (exit 75 instead of requeueing).

aepipe_job_setup() {
  if [[ $(id -u) -eq 0 ]]; then  # containers and test clusters run jobs as root
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  fi
  AEPIPE=${AEPIPE:-$SLURM_SUBMIT_DIR/build/aepipe}
  [[ -x $AEPIPE ]] || { echo "aepipe job: no executable at $AEPIPE (set AEPIPE)" >&2; exit 1; }
  read -r -a AEPIPE_LAUNCH <<<"${AEPIPE_LAUNCHER:-srun --mpi=pmix}"
  # srun no longer inherits --cpus-per-task from sbatch (Slurm >= 22.05): pass it on, and
  # give each rank that many compute threads.
  if [[ -n ${SLURM_CPUS_PER_TASK:-} ]]; then
    export SRUN_CPUS_PER_TASK=$SLURM_CPUS_PER_TASK
    AEPIPE_THREADS=(--threads "$SLURM_CPUS_PER_TASK")
  else
    AEPIPE_THREADS=()
  fi
  echo "aepipe job: $SLURM_JOB_ID${SLURM_ARRAY_TASK_ID:+ (array task $SLURM_ARRAY_TASK_ID)}," \
    "${SLURM_NTASKS:-1} ranks on ${SLURM_JOB_NODELIST:-?}, run ${SLURM_RESTART_COUNT:-0}" \
    "after requeues, $(date -u +%FT%TZ)"
}

# Slurm's pre-timeout signal (--signal=B:USR1@N) and scancel's SIGTERM reach the batch shell
# only. From the moment this file is sourced they are remembered here, not fatal to the
# shell; aepipe_job_run passes them on to the launcher, which passes them to every rank.
aepipe_pending_signal=""
trap 'aepipe_pending_signal=USR1' USR1
trap 'aepipe_pending_signal=TERM' TERM

aepipe_job_run() {
  local child status launched hold=${AEPIPE_SIGNAL_HOLD:-5}
  [[ $hold =~ ^[0-9]+$ ]] || { echo "aepipe job: AEPIPE_SIGNAL_HOLD=$hold is not a number of seconds" >&2; exit 2; }
  # Bash runs a trap only between commands, so the work runs in the background and the shell
  # waits for it. A rank takes the signals as stop requests from the first line of its
  # main(); before that (while srun or mpirun starts it and the loader maps its libraries)
  # they would kill it, and Slurm can send the pre-timeout signal in the job's first second.
  # So a signal that comes within AEPIPE_SIGNAL_HOLD seconds (default 5) of the launch is
  # held until then.
  "${AEPIPE_LAUNCH[@]}" "$AEPIPE" "$@" "${AEPIPE_THREADS[@]}" &
  child=$!
  launched=$SECONDS
  while true; do
    if [[ -n $aepipe_pending_signal ]]; then
      local signal=$aepipe_pending_signal
      local wait_for=$((launched + hold - SECONDS))
      if ((wait_for > 0)); then
        echo "aepipe job: SIG$signal $((SECONDS - launched)) s after the launch: holding it" \
          "$wait_for s, until the ranks are up"
        sleep "$wait_for"
      fi
      aepipe_pending_signal=""
      echo "aepipe job: SIG$signal: asking the ranks to checkpoint and stop"
      kill -"$signal" "$child" 2>/dev/null
    fi
    wait "$child"
    status=$?
    # A trap interrupts `wait` (status > 128): pass the signal on, then wait again for the
    # launcher's own status (waiting for a job that has ended returns its status).
    [[ -n $aepipe_pending_signal ]] && continue
    break
  done
  if ((status == 75)) && [[ -z ${AEPIPE_NO_REQUEUE:-} ]]; then
    echo "aepipe job: stopped after a checkpoint; requeueing job $SLURM_JOB_ID to continue"
    # The job (an array task has its own SLURM_JOB_ID) goes back to the queue and runs the
    # same script again; aepipe run skips the finished stages and training resumes.
    scontrol requeue "$SLURM_JOB_ID"
    exit 0
  fi
  echo "aepipe job: aepipe exited with $status, $(date -u +%FT%TZ)"
  return "$status"
}
