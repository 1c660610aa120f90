#pragma once
// Row-wise helpers shared by the indexes. Everything here computes each row's result the
// same way wherever the row sits in memory or in a rank's slice, so P ranks reproduce one.
#include <string>
#include <vector>

#include "index/types.hpp"
#include "mpi/communicator.hpp"

namespace aepipe::index {

// ||row||² of each row of `rows` [n, d]: products summed in double in index order, rounded
// once (Eigen's vectorised reductions depend on the row's alignment).
std::vector<float> squared_norms(ConstRows rows);

// Scales every row to unit length (rows of zeros stay zero): cosine becomes inner product.
void normalise_rows(RowMatrixXf& rows);

// products [database_rows, query_rows] column-major (each query's products contiguous):
//   products[j + i * database_rows] = alpha * database_j · query_i
// through the project's GEMM seam. database [database_rows, d], queries [query_rows, d].
void inner_products(const float* database, Eigen::Index database_rows, const float* queries,
                    Eigen::Index query_rows, Eigen::Index dim, float alpha, float* products);

// Throws Error naming `what` and the row if any value is NaN or infinite.
void require_finite(ConstRows rows, const std::string& what);

// Collective: every rank's rows, concatenated in rank order, on every rank. For data that
// every rank needs whole (training samples, a built index).
RowMatrixXf gather_rows(ConstRows local, const mpi::Communicator& comm);
template <class T>
std::vector<T> gather_values(const std::vector<T>& local, const mpi::Communicator& comm);

// Collective: rank r's first global row (rows of ranks before r) and the total.
struct RowRange {
  std::int64_t first = 0;
  std::int64_t local = 0;
  std::int64_t total = 0;
};
RowRange global_rows(Eigen::Index local_rows, const mpi::Communicator& comm);

}  // namespace aepipe::index
