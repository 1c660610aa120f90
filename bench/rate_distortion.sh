#!/usr/bin/env bash
# Rate-distortion on the Fashion-MNIST test set (10,000 images of 28x28), all in one run:
#   aepipe    deep autoencoders 784-1000-500-250-K (trained here on the 60,000 training
#             images unless WORK/models already holds them; mse loss), codes quantised to
#             several bit depths, rate = stored bytes of /codes as HDF5 keeps them (deflate);
#             a model "K@B" is trained for B-bit codes (sigmoid code, --code-noise
#             1/(2^B-1)), a plain "K" has a linear code;
#   PCA       the same code sizes, closed form, quantised the same way;
#   JPEG      libjpeg-turbo on one mosaic of all test images (no per-file headers), cut back
#             into images; lossless PNG of the mosaic for reference.
# PSNR is over all pixels of the decoded 8-bit images (10 log10(255^2 / MSE)).
#
# Usage: bash bench/rate_distortion.sh        (after scripts/build.sh)
#   CODES="32 48@4 128@4"  models       BITS="3 4 5 6 8 0"  bit depths (0 = float32)
#   EPOCHS=30          training epochs     RANKS=2           MPI ranks for every stage
#   WORK=DIR           keep data, models and codes there (default: a temporary folder);
#                      models already in WORK/models are reused
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/scripts/mpi-env.sh"
aepipe=${AEPIPE_BUILD_DIR:-$root/build}/aepipe
data=/usr/share/datasets/fashion-mnist
codes=${CODES:-32 48@4 128@4}
bits=${BITS:-3 4 5 6 8 0}
epochs=${EPOCHS:-30}
ranks=${RANKS:-2}
if [[ -n ${WORK:-} ]]; then
  work=$WORK
  mkdir -p "$work"
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/aepipe-rd.XXXXXX")
  trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work/models" "$work/codes"
run() { mpirun -np "$ranks" --oversubscribe "$aepipe" "$@"; }

[[ -f $work/train.h5 ]] || run ingest -q --input "$data/train-images-idx3-ubyte.gz" \
  "$data/train-labels-idx1-ubyte.gz" --output "$work/train.h5"
[[ -f $work/test.h5 ]] || run ingest -q --input "$data/t10k-images-idx3-ubyte.gz" \
  "$data/t10k-labels-idx1-ubyte.gz" --output "$work/test.h5"

metrics=$work/rate_distortion.jsonl
: > "$metrics"
for spec in $codes; do
  k=${spec%@*}
  ae=$work/models/ae${spec/@/b}.h5
  if [[ ! -f $ae ]]; then
    extra=()
    if [[ $spec == *@* ]]; then
      extra=(--code-activation sigmoid
             --code-noise "$(awk -v b="${spec#*@}" 'BEGIN { print 1 / (2 ^ b - 1) }')")
    fi
    echo "training 784-1000-500-250-$k ${extra[*]} for $epochs epochs on $ranks ranks..." >&2
    run train -q --input "$work/train.h5" --output "$ae" --arch "784-1000-500-250-$k" \
      --loss mse --epochs "$epochs" "${extra[@]}"
  fi
  pca=$work/models/pca$k.h5
  [[ -f $pca ]] || run train -q --input "$work/train.h5" --output "$pca" --arch "pca:$k"
  for model in "$ae" "$pca"; do
    for b in $bits; do
      out=$work/codes/$(basename "$model" .h5)-b$b.h5
      run encode -q --force --input "$work/test.h5" --model "$model" --output "$out" --bits "$b"
      run evaluate -q --codes "$out" --metrics "$metrics" >/dev/null
    done
  done
done
/usr/bin/python3 "$root/bench/jpeg_mosaic.py" "$work/test.h5" 5 10 15 20 30 50 75 >> "$metrics"

/usr/bin/python3 - "$metrics" <<'PY'
import json, os, re, sys
rows = []
for line in open(sys.argv[1]):
    event = json.loads(line)
    if event.get("codec"):
        name = "JPEG q%d" % event["quality"] if event["codec"] == "jpeg" else "PNG (lossless)"
        rows.append((name, "jpeg" if event["codec"] == "jpeg" else "png", event["bits_per_pixel"],
                     event["psnr"], None, None))
        continue
    model = os.path.basename(event["model"])[:-3]
    kind = "pca" if model.startswith("pca") else "aepipe"
    k = int(event["code_size"])
    bits = int(event["bits"])
    trained_for = " (trained for %s bits)" % model.split("b")[1] if "b" in model else ""
    name = "%s %d-d %s%s" % ("PCA" if kind == "pca" else "aepipe", k,
                              "%d-bit" % bits if bits else "float32", trained_for)
    rows.append((name, kind, event["bits_per_pixel"], event["psnr"], event["ssim"], (k, bits)))
rows.sort(key=lambda r: r[2])
print("%-44s %10s %9s %7s" % ("codec", "bits/pixel", "PSNR dB", "SSIM"))
for name, kind, bpp, psnr, ssim, _ in rows:
    print("%-44s %10.4f %9s %7s" % (name, bpp, "lossless" if psnr is None else "%.3f" % psnr,
                                     "" if ssim is None else "%.4f" % ssim))

jpeg = {r[0]: r for r in rows if r[1] == "jpeg"}
ours = [r for r in rows if r[1] == "aepipe"]
pca = {r[5]: r for r in rows if r[1] == "pca"}
print()
if "JPEG q10" in jpeg:
    q10 = jpeg["JPEG q10"]
    third = [r for r in ours if r[2] <= q10[2] / 3]
    best = max(third, key=lambda r: r[3]) if third else None
    print("JPEG q10: %.4f bpp at %.3f dB" % (q10[2], q10[3]))
    print("  best aepipe at <= %.4f bpp (a third): %s" % (
        q10[2] / 3, "none" if best is None else "%s, %.4f bpp, %.3f dB (%s)" % (
            best[0], best[2], best[3], "reaches it" if best[3] >= q10[3] else "short of it")))
    within = [r for r in ours if r[2] <= q10[2]]
    best = max(within, key=lambda r: r[3]) if within else None
    print("  best aepipe at <= %.4f bpp: %s" % (
        q10[2], "none" if best is None else "%s, %.4f bpp, %.3f dB (%+.3f dB vs JPEG)" % (
            best[0], best[2], best[3], best[3] - q10[3])))
# PCA is beaten at a rate when some aepipe point costs no more and reaches a higher PSNR.
beaten = lambda p: any(r[2] <= p[2] and r[3] > p[3] for r in ours)
unbeaten = [p for p in pca.values() if not beaten(p)]
print("aepipe vs quantised PCA: %s" % (
    "better PSNR at no more bits at every PCA point (%d points)" % len(pca) if not unbeaten
    else "no aepipe point at or below the rate of: " +
    ", ".join("%s (%.4f bpp, %.3f dB)" % (p[0], p[2], p[3]) for p in unbeaten)))
PY
