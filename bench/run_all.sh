#!/usr/bin/env bash
# Every side-by-side benchmark of issue 9 in one run, printed as one markdown table (each
# aepipe figure next to its peer measured in the same run, the ratio, peak RSS per rank):
#   bench/train_throughput.sh   training samples/s vs PyTorch; % of the sgemm peak; scaling
#   bench/encode_throughput.sh  encode images/s vs PyTorch inference
#   bench/ingest_throughput.sh  ingest images/s and MB/s vs h5py and dd
#   bench/search/run.sh         search queries/s vs faiss (builds aepipe_search_bench, with
#                               faiss and hnswlib, in AEPIPE_SEARCH_BUILD_DIR, default build-bench/)
# Each script's own output goes to OUT (default bench-results/ under the project, one .txt per
# script); the combined table goes to stdout and OUT/table.md.
# Environment: AEPIPE_BUILD_DIR (aepipe, default build/), AEPIPE_SEARCH_BUILD_DIR, REPEAT
# (rounds per script, default 3), SKIP="search ingest" to leave some out.
# Takes about 25-40 minutes on 2 idle cores (training ~15, encode ~3, ingest ~3, search ~5,
# plus the first build of the search benchmark, ~10 more, on a fresh checkout).
# Usage: bash bench/run_all.sh   (after scripts/build.sh)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/bench/lib.sh"
export REPEAT=${REPEAT:-3}
out=${OUT:-$root/bench-results}
skip=" ${SKIP:-} "
mkdir -p "$out"

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
start=$(date +%s)
rows=()
if [[ $skip != *" train "* ]]; then
  echo "run_all.sh: training (bench/train_throughput.sh)" >&2
  TABLE_ROWS_ONLY=1 bash "$root/bench/train_throughput.sh" >"$out/train.txt" 2>"$out/train.log"
  mapfile -t -O "${#rows[@]}" rows <"$out/train.txt"
fi
if [[ $skip != *" encode "* ]]; then
  echo "run_all.sh: encoding (bench/encode_throughput.sh)" >&2
  TABLE_ROWS_ONLY=1 bash "$root/bench/encode_throughput.sh" >"$out/encode.txt" 2>"$out/encode.log"
  mapfile -t -O "${#rows[@]}" rows <"$out/encode.txt"
fi

if [[ $skip != *" ingest "* ]]; then
  echo "run_all.sh: ingest (bench/ingest_throughput.sh)" >&2
  bash "$root/bench/ingest_throughput.sh" >"$out/ingest.txt"
  # Its lines: name (with spaces), seconds, images/s, MB/s, peak RSS MB.
  field() {  # name column(1 = images/s, 2 = MB/s, 3 = RSS)
    awk -v n="$1" -v c="$2" 'index($0, n) == 1 { print $(NF - 3 + c) }' "$out/ingest.txt"
  }
  for level in 1 0; do
    for ranks in "1 rank" "2 ranks"; do
      a="aepipe $ranks, deflate $level"
      p="h5py, deflate $level"
      rows+=("$(table_row "ingest 60,000 images, $ranks, deflate $level" \
        "$(fmt "$(field "$a" 1)") images/s, $(field "$a" 2) MB/s" \
        "h5py writing the same array: $(fmt "$(field "$p" 1)") images/s, $(field "$p" 2) MB/s" \
        "$(ratio "$(field "$a" 1)" "$(field "$p" 1)")" "$(field "$a" 3); $(field "$p" 3)" \
        "vs dd + fdatasync ($(field "dd + fdatasync" 2) MB/s): $(percent "$(field "$a" 2)" "$(field "dd + fdatasync" 2)") (target 80%); RSS of the largest rank; times include process start-up")")
    done
  done
fi

if [[ $skip != *" search "* ]]; then
  echo "run_all.sh: search (bench/search/run.sh)" >&2
  AEPIPE_BUILD_DIR=${AEPIPE_SEARCH_BUILD_DIR:-$root/build-bench} \
    /usr/bin/time -f %M -o "$out/search.rss" bash "$root/bench/search/run.sh" \
    --repeats "$REPEAT" >"$out/search.txt"
  rss=$(awk '{printf "%.0f", $1 / 1024}' "$out/search.rss")
  # Its lines: method (with spaces), build s, queries/s, recall@10[, precision@10].
  search_column() {  # method column(1 = build s, 2 = queries/s, 3 = recall@10)
    awk -v n="$1" -v c="$2" 'index($0, n " ") == 1 {
      split(substr($0, length(n) + 1), f, " "); print f[c]; exit }' "$out/search.txt"
  }
  qps() { search_column "$1" 2; }
  recall() { search_column "$1" 3; }
  pair() {  # label aepipe-method faiss-method
    rows+=("$(table_row "search 10,000 queries in 60,000 30-d codes, $1, 1 thread" \
      "$(fmt "$(qps "$2")") queries/s (recall@10 $(recall "$2"))" \
      "$3: $(fmt "$(qps "$3")") queries/s (recall@10 $(recall "$3"))" \
      "$(ratio "$(qps "$2")" "$(qps "$3")")" "$rss (one process runs every method)" "k = 10")")
  }
  pair "exact" "aepipe flat" "faiss IndexFlatL2"
  for nprobe in 1 8; do
    pair "IVF 256 lists, nprobe $nprobe" "aepipe ivf:256 nprobe $nprobe" "faiss IVFFlat 256 nprobe $nprobe"
  done
fi

load_after=$(cut -d' ' -f1-3 /proc/loadavg)
{
  echo "## aepipe vs peers, $(date -u +%Y-%m-%dT%H:%MZ), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
  echo
  echo "aepipe $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$root" diff --quiet HEAD -- pipeline stages jobs 2>/dev/null || echo ' (with uncommitted changes)') from ${AEPIPE_BUILD_DIR:-$root/build}. Each figure is the median of $REPEAT interleaved rounds in this one run ($(( ($(date +%s) - start) / 60 )) min); load average before / after: $load_before / $load_after. A shared machine makes the figures noisy: compare within a row. Details (kernels, ISA, every run) in $out/."
  if [[ -f $out/train.log ]]; then  # the kernels that ran
    echo
    grep -h -e '^oneDNN' -e "^PyTorch's" "$out/train.log" | sed 's/^/- /' || true
  fi
  echo
  echo "$TABLE_HEADER"
  printf '%s\n' "${rows[@]}"
} | tee "$out/table.md"
