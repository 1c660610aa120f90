#pragma once
// Bounded max-heaps holding the k best (smallest-key) candidates of one query. Keys are
// distances, or negated similarities, so "best" is always "smallest". Candidates compare by
// (key, id): among equal keys the smaller id wins, which makes every result independent of
// the order candidates arrive in (IVF lists, blocks, ranks).
//
// A heap is two arrays of k: keys and ids, with the worst kept candidate at [0]. Empty slots
// hold (+inf, -1) and are never displaced by a +inf key.
#include <Eigen/Core>
#include <cstdint>
#include <limits>

namespace aepipe::index {

// True if (key_a, id_a) ranks after (key_b, id_b).
inline bool ranks_after(float key_a, std::int64_t id_a, float key_b, std::int64_t id_b) {
  return key_a > key_b || (key_a == key_b && id_a > id_b);
}

inline void heap_reset(float* keys, std::int64_t* ids, Eigen::Index k) {
  for (Eigen::Index i = 0; i < k; ++i) {
    keys[i] = std::numeric_limits<float>::infinity();
    ids[i] = -1;
  }
}

// Sifts (key, id) down from the root of the heap [0, size), replacing the root.
inline void heap_replace_top(float* keys, std::int64_t* ids, Eigen::Index size, float key,
                             std::int64_t id) {
  Eigen::Index at = 0;
  while (true) {
    Eigen::Index child = 2 * at + 1;
    if (child >= size) break;
    if (child + 1 < size && ranks_after(keys[child + 1], ids[child + 1], keys[child], ids[child]))
      ++child;
    if (!ranks_after(keys[child], ids[child], key, id)) break;
    keys[at] = keys[child];
    ids[at] = ids[child];
    at = child;
  }
  keys[at] = key;
  ids[at] = id;
}

// Keeps (key, id) if it beats the worst kept candidate. NaN keys are never kept.
inline void heap_push(float* keys, std::int64_t* ids, Eigen::Index k, float key, std::int64_t id) {
  if (key < keys[0] || (key == keys[0] && id < ids[0])) heap_replace_top(keys, ids, k, key, id);
}

// Turns the heap into its candidates sorted best first (ascending (key, id)).
inline void heap_sort(float* keys, std::int64_t* ids, Eigen::Index k) {
  for (Eigen::Index last = k - 1; last > 0; --last) {
    const float key = keys[last];
    const std::int64_t id = ids[last];
    keys[last] = keys[0];
    ids[last] = ids[0];
    heap_replace_top(keys, ids, last, key, id);
  }
}

}  // namespace aepipe::index
