#!/usr/bin/env bash
# The default job on a fresh Debian 12 machine: installs what is missing, builds aepipe, then
# runs configs/fashion-mnist.ini with 2 MPI ranks: ingest Fashion-MNIST (Debian's
# dataset-fashion-mnist), train the deep autoencoder, evaluate it beside PCA, encode 8-bit
# codes, measure the codec, build an IVF index and query it with the test images. Prints each
# stage's figures and a summary. Outputs go to out/fashion-mnist/.
#
# Running it again skips the stages already done; AEPIPE_RANKS sets the rank count, and any
# arguments go to `aepipe run` (e.g. --from train, --set train.epochs=5, --force).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/scripts/setup.sh"
bash "$root/scripts/build.sh"
source "$root/scripts/mpi-env.sh"
cd "$root"
aepipe=${AEPIPE_BUILD_DIR:-$root/build}/aepipe
ranks=${AEPIPE_RANKS:-2}
mpirun -np "$ranks" --oversubscribe "$aepipe" run --config configs/fashion-mnist.ini "$@"
