# Sourced by bench/train_throughput.sh, bench/encode_throughput.sh and bench/run_all.sh:
# installing the peers, medians, and the rows of the shared markdown table.

# Installs the Debian packages not yet installed (peers for the benchmarks only: aepipe never
# uses them), like bench/search/run.sh does.
bench_install() {
  local missing=() package
  for package in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$package")
    fi
  done
  if ((${#missing[@]})); then
    local sudo=()
    if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi
    echo "bench: installing ${missing[*]}" >&2
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# PyTorch and what makes it fast here: jemalloc, and an optimised libblas.so.3 (Debian's torch
# calls the generic BLAS; without libopenblas0 that is the reference BLAS, ~20x slower).
bench_install_pytorch() {
  bench_install python3-torch python3-h5py python3-numpy libjemalloc2 libopenblas0-pthread \
    dataset-fashion-mnist
}
JEMALLOC=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2

# No CPU-model overrides (this machine sets OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE): every
# benchmark command runs under "${CLEAN_ENV[@]}".
CLEAN_ENV=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE -u LD_PRELOAD)

# median of the numbers on stdin (one per line or space-separated); "-" when there are none.
median() {
  tr ' ' '\n' | { grep -v '^$' || true; } | sort -g |
    awk '{a[NR]=$1} END {if (NR == 0) print "-"; else print a[int((NR+1)/2)]}'
}
# ratio A B -> "1.23x" ("-" when either is missing)
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b + 0 == 0) print "-";
    else printf "%.2fx", a / b }'
}
# number with thousands separators, no decimals ("-" stays)
fmt() {
  awk -v x="$1" 'BEGIN { if (x == "-" || x == "") { print "-"; exit }
    s = sprintf("%.0f", x); out = ""; n = length(s);
    for (i = 1; i <= n; i++) { out = out substr(s, i, 1); if ((n - i) % 3 == 0 && i < n) out = out "," }
    print out }'
}
# percent A / B
percent() {
  awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b + 0 == 0) print "-";
    else printf "%.0f%%", 100 * a / b }'
}

TABLE_HEADER='| benchmark | aepipe | peer | aepipe / peer | peak RSS MB per rank: aepipe; peer | notes |
| --- | --- | --- | --- | --- | --- |'
# table_start TITLE_FUNCTION: the title lines, then the table's heading. With
# TABLE_ROWS_ONLY=1 (run_all.sh collects the rows under one heading) the title goes to stderr.
table_start() {
  if [[ ${TABLE_ROWS_ONLY:-0} == 1 ]]; then
    "$1" >&2
  else
    "$1"
    echo "$TABLE_HEADER"
  fi
}
# table_row BENCHMARK AEPIPE PEER RATIO MEMORY NOTES
table_row() { printf '| %s | %s | %s | %s | %s | %s |\n' "$@"; }
