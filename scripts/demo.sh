#!/usr/bin/env bash
# The default job on a fresh Debian 12 machine: installs what is missing, builds aepipe, then
# ingests Fashion-MNIST (Debian's dataset-fashion-mnist) with 2 MPI ranks and summarises the
# result. Outputs go to out/fashion-mnist/ (replaced on each run).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/scripts/setup.sh"
bash "$root/scripts/build.sh"
source "$root/scripts/mpi-env.sh"
cd "$root"
aepipe=${AEPIPE_BUILD_DIR:-$root/build}/aepipe
ranks=${AEPIPE_RANKS:-2}
data=/usr/share/datasets/fashion-mnist
mkdir -p out/fashion-mnist

# Training set from the config; the test set with the same config and two overrides.
mpirun -np "$ranks" --oversubscribe "$aepipe" ingest --config configs/fashion-mnist.ini --force
mpirun -np "$ranks" --oversubscribe "$aepipe" ingest --config configs/fashion-mnist.ini --force \
  --input "$data/t10k-images-idx3-ubyte.gz" "$data/t10k-labels-idx1-ubyte.gz" \
  --output out/fashion-mnist/test.h5
"$aepipe" inspect out/fashion-mnist/train.h5
"$aepipe" inspect out/fashion-mnist/test.h5
