#!/usr/bin/env bash
# Builds and runs aepipe_search_bench: aepipe's flat, IVF and hash indexes against faiss
# (IndexFlatL2, IndexIVFFlat) and hnswlib, one thread each, on 30-d PCA codes of
# Fashion-MNIST (60k database = training images, 10k queries = test images).
#   bench/search/run.sh [--repeats R] [--no-hnsw]
# Environment: AEPIPE_BUILD_DIR (default build-bench/), AEPIPE_BENCH_DATA (default
# /tmp/index-bench/, where the codes are made with /usr/bin/python3 + numpy + h5py if missing).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${AEPIPE_BUILD_DIR:-$root/build-bench}
data=${AEPIPE_BENCH_DATA:-/tmp/index-bench}

# Peers for the benchmark only (aepipe never links them); installed like scripts/setup.sh does.
packages=(libfaiss-dev libhnswlib-dev dataset-fashion-mnist python3-h5py python3-numpy)
missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if ((${#missing[@]})); then
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi
  echo "run.sh: installing ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [[ ! -f $data/database.h5 || ! -f $data/queries.h5 ]]; then
  mkdir -p "$data"
  /usr/bin/python3 "$root/bench/search/make_codes.py" "$data"
fi

# Only the target it runs (not the tests): bench/run_all.sh calls this script on a fresh checkout.
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE:-RelWithDebInfo} \
  -DAEPIPE_BUILD_BENCH=ON >/dev/null
cmake --build "$build" -j "$(nproc)" --target aepipe_search_bench >/dev/null
# One thread everywhere: oneDNN and faiss (OpenMP), BLAS; no CPU-model overrides.
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
  "$build/bench/search/aepipe_search_bench" "$data/database.h5" "$data/queries.h5" "$@"
