#!/usr/bin/env bash
# Installs every Debian package aepipe needs to build, run and test (only the missing ones).
# Idempotent; needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config clang-format
  libopenmpi-dev openmpi-bin
  libhdf5-openmpi-dev hdf5-tools
  libeigen3-dev libboost-program-options-dev libgtest-dev libstb-dev zlib1g-dev
  libdnnl-dev                      # oneDNN: the float GEMM kernel
  clang libclang-rt-dev            # fuzz/: clang with libFuzzer and its sanitiser runtimes
  dataset-fashion-mnist            # the default job's data
  python3-h5py python3-numpy       # end-to-end tests read our files with h5py
  python3-skimage                  # natural photos for the patch configs (skimage/data)
  chromium                         # e2e_report renders `aepipe report`'s page headless
  munge slurm-client slurmctld slurmd  # slurm/local-cluster.sh: a single-node Slurm for tests
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi
echo "setup: installing ${missing[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
echo "setup: done"
