#include "index/rows.hpp"

#include <cmath>
#include <cstring>

#include "nn/gemm.hpp"
#include "util/error.hpp"

namespace aepipe::index {

std::vector<float> squared_norms(ConstRows rows) {
  std::vector<float> norms(static_cast<std::size_t>(rows.rows()));
  for (Eigen::Index i = 0; i < rows.rows(); ++i) {
    const float* row = rows.data() + i * rows.outerStride();
    double sum = 0.0;
    for (Eigen::Index j = 0; j < rows.cols(); ++j)
      sum += static_cast<double>(row[j]) * static_cast<double>(row[j]);
    norms[static_cast<std::size_t>(i)] = static_cast<float>(sum);
  }
  return norms;
}

void normalise_rows(RowMatrixXf& rows) {
  const std::vector<float> norms = squared_norms(rows);
  for (Eigen::Index i = 0; i < rows.rows(); ++i) {
    const double norm = std::sqrt(static_cast<double>(norms[static_cast<std::size_t>(i)]));
    if (norm > 0.0) rows.row(i) *= static_cast<float>(1.0 / norm);
  }
}

void inner_products(const float* database, Eigen::Index database_rows, const float* queries,
                    Eigen::Index query_rows, Eigen::Index dim, float alpha, float* products) {
  // Row-major [n, d] is column-major [d, n]: products = alpha * database^T queries.
  nn::gemm<float>(nn::Transpose::kYes, nn::Transpose::kNo, database_rows, query_rows, dim, alpha,
                  database, dim, queries, dim, 0.0f, products, database_rows);
}

void require_finite(ConstRows rows, const std::string& what) {
  for (Eigen::Index i = 0; i < rows.rows(); ++i)
    for (Eigen::Index j = 0; j < rows.cols(); ++j)
      if (!std::isfinite(rows(i, j)))
        throw Error(
            cat(what, " row ", i, " column ", j, " is ", rows(i, j), " (expected finite numbers)"));
}

namespace {

std::vector<char> broadcast_bytes(std::vector<char> bytes, const mpi::Communicator& comm) {
  auto size = static_cast<std::int64_t>(bytes.size());
  size = comm.broadcast(size, 0);
  bytes.resize(static_cast<std::size_t>(size));
  comm.broadcast(std::span<char>(bytes), 0);
  return bytes;
}

}  // namespace

RowMatrixXf gather_rows(ConstRows local, const mpi::Communicator& comm) {
  const auto dim = comm.allreduce_max(static_cast<std::int64_t>(local.cols()));
  std::vector<char> bytes;
  if (local.rows() > 0) {
    const RowMatrixXf contiguous = local;
    bytes = comm.gather_bytes(std::span(reinterpret_cast<const char*>(contiguous.data()),
                                        sizeof(float) * static_cast<std::size_t>(local.size())),
                              0);
  } else {
    bytes = comm.gather_bytes({}, 0);
  }
  bytes = broadcast_bytes(std::move(bytes), comm);
  const auto rows = dim == 0 ? 0 : static_cast<std::int64_t>(bytes.size() / sizeof(float)) / dim;
  RowMatrixXf all(rows, dim);
  if (!bytes.empty()) std::memcpy(all.data(), bytes.data(), bytes.size());
  return all;
}

template <class T>
std::vector<T> gather_values(const std::vector<T>& local, const mpi::Communicator& comm) {
  std::vector<char> bytes = comm.gather_bytes(
      std::span(reinterpret_cast<const char*>(local.data()), sizeof(T) * local.size()), 0);
  bytes = broadcast_bytes(std::move(bytes), comm);
  std::vector<T> all(bytes.size() / sizeof(T));
  if (!bytes.empty()) std::memcpy(all.data(), bytes.data(), bytes.size());
  return all;
}
template std::vector<std::int64_t> gather_values(const std::vector<std::int64_t>&,
                                                 const mpi::Communicator&);
template std::vector<std::uint64_t> gather_values(const std::vector<std::uint64_t>&,
                                                  const mpi::Communicator&);
template std::vector<float> gather_values(const std::vector<float>&, const mpi::Communicator&);

RowRange global_rows(Eigen::Index local_rows, const mpi::Communicator& comm) {
  RowRange range;
  range.local = local_rows;
  range.first = comm.exscan_sum(static_cast<std::int64_t>(local_rows));
  range.total = comm.allreduce_sum(static_cast<std::int64_t>(local_rows));
  return range;
}

}  // namespace aepipe::index
