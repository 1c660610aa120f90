#include "index/sampling.hpp"

#include <algorithm>
#include <unordered_set>

namespace aepipe::index {

std::vector<std::int64_t> sample_rows(std::int64_t total, std::int64_t count, std::uint64_t seed) {
  std::vector<std::int64_t> rows;
  if (count >= total) {
    rows.resize(static_cast<std::size_t>(std::max<std::int64_t>(total, 0)));
    for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<std::int64_t>(i);
    return rows;
  }
  Random random(seed);
  std::unordered_set<std::int64_t> chosen;
  chosen.reserve(static_cast<std::size_t>(count) * 2);
  for (std::int64_t j = total - count; j < total; ++j) {
    const auto pick =
        static_cast<std::int64_t>(uniform_below(random, static_cast<std::uint64_t>(j + 1)));
    rows.push_back(chosen.insert(pick).second ? pick : j);
    if (rows.back() == j) chosen.insert(j);
  }
  std::sort(rows.begin(), rows.end());
  return rows;
}

LocalSample local_sample(const std::vector<std::int64_t>& sample, const RowRange& range) {
  LocalSample local;
  const auto begin = std::lower_bound(sample.begin(), sample.end(), range.first);
  const auto end = std::lower_bound(begin, sample.end(), range.first + range.local);
  local.first = begin - sample.begin();
  for (auto it = begin; it != end; ++it) local.rows.push_back(*it - range.first);
  return local;
}

RowMatrixXf take_rows(ConstRows local, const std::vector<Eigen::Index>& rows) {
  RowMatrixXf taken(static_cast<Eigen::Index>(rows.size()), local.cols());
  for (std::size_t i = 0; i < rows.size(); ++i)
    taken.row(static_cast<Eigen::Index>(i)) = local.row(rows[i]);
  return taken;
}

}  // namespace aepipe::index
