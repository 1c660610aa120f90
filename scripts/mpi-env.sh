# Sourced by the scripts: what Open MPI needs on a workstation or CI machine.
# As root, Open MPI refuses to start without these two (containers and CI run as root).
if [[ $(id -u) -eq 0 ]]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
# Ranks beyond the cores (tests at 4 ranks on 2 cores) yield instead of spinning.
export OMPI_MCA_mpi_yield_when_idle=${OMPI_MCA_mpi_yield_when_idle:-1}
