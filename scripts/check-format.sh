#!/usr/bin/env bash
# Fails (listing the files) if any tracked C++ file differs from .clang-format's layout.
# Fix with: clang-format -i $(git ls-files '*.cpp' '*.hpp')
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' 2>/dev/null || find pipeline stages jobs tests bench -name '*.[ch]pp')
bad=()
for file in "${files[@]}"; do
  clang-format --dry-run -Werror "$file" >/dev/null 2>&1 || bad+=("$file")
done
if ((${#bad[@]})); then
  printf 'not clang-formatted: %s\n' "${bad[@]}"
  exit 1
fi
echo "clang-format: ${#files[@]} files formatted"
