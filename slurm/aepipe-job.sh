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

aepipe_job_run() {
  local child status signalled=0
  # Slurm's pre-timeout signal (--signal=B:USR1@N) and scancel's SIGTERM reach this shell
  # only: pass them to the launcher, which passes them to every rank. Bash runs a trap only
  # between commands, so the work runs in the background and the shell waits for it.
  trap 'signalled=1; echo "aepipe job: SIGUSR1: asking the ranks to checkpoint and stop"; kill -USR1 "$child" 2>/dev/null' USR1
  trap 'signalled=1; echo "aepipe job: SIGTERM: asking the ranks to checkpoint and stop"; kill -TERM "$child" 2>/dev/null' TERM
  "${AEPIPE_LAUNCH[@]}" "$AEPIPE" "$@" "${AEPIPE_THREADS[@]}" &
  child=$!
  while true; do
    wait "$child"
    status=$?
    # A trap interrupts `wait` (status > 128): wait again for the launcher's own status.
    if ((status > 128 && signalled)); then
      signalled=0
      continue
    fi
    break
  done
  trap - USR1 TERM
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
