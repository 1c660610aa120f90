#pragma once
// `aepipe query --index index.h5 --input queries.h5 [--model model.h5] --output n.h5 [--k K]
// [--nprobe P]`: the k nearest database vectors of every query, written as a `neighbours`
// file (index/neighbours_file.hpp). Queries are a codes file's vectors, or a data file's
// images encoded with --model. Every rank reads the whole index; the queries are cut into
// blocks of kQueryBlock rows dealt to the ranks in rounds, so every block is searched (and
// every image encoded) the same way whatever the rank count: the output does not depend on it.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "codec/codes_reader.hpp"
#include "data/data_file_reader.hpp"
#include "index/types.hpp"
#include "nn/model_file.hpp"
#include "stages/context.hpp"

namespace aepipe::stages {

struct QueryOptions {
  std::string index;
  std::string input;  // codes file, or data file (then `model` is needed)
  std::string model;
  std::string output;
  std::int64_t k = 10;
  std::int64_t nprobe = 8;  // ivf only
};

void run_query(const QueryOptions& options, const StageContext& context);

// Queries searched together: a multiple of the flat search's query block (256), so blocks cut
// the same way for any rank count; large enough for IVF to share each list's scan.
inline constexpr std::int64_t kQueryBlock = 2048;

// The queries of `query` (and of evaluate's exact search): a codes file used as it is (dense
// floats, dequantised), or a data file whose images are encoded with a model, whole /images
// chunk by whole chunk from the chunk's first row, so a row's code is the one `aepipe encode`
// stores for it, whichever block asks for it.
class QuerySource {
 public:
  // Collective. Throws (on every rank) unless `input` is a codes or data file (a data file
  // needs `model`, fitting its images) whose vectors have `dim` values, as the index `index`.
  QuerySource(const std::string& input, const std::string& model, std::int64_t dim,
              const std::string& index, const mpi::Communicator& comm);

  std::int64_t rows() const { return rows_; }
  bool has_labels() const { return labels_; }
  bool encodes_images() const { return data_.has_value(); }
  // The model path used ("" for codes queries).
  const std::string& model_path() const { return model_path_; }

  // This process alone: rows [first, first + count) as vectors [count, dim] (row-major, rows
  // are queries) and their labels [count] (-1 without labels).
  void read(std::int64_t first, std::int64_t count, index::RowMatrixXf& vectors,
            std::vector<std::int32_t>& labels);

 private:
  void encode(std::int64_t first, std::int64_t count, index::RowMatrixXf& vectors);

  std::int64_t rows_ = 0;
  std::int64_t dim_ = 0;
  bool labels_ = false;
  std::string model_path_;
  std::optional<codec::CodesReader> codes_;
  std::optional<data::DataFileReader> data_;
  std::optional<nn::LoadedModel> model_;
  // The last chunk encoded: its number and codes [dim, chunk rows] (a block's last chunk is
  // often the next block's first, when the blocks come to this rank in a row).
  std::int64_t cached_chunk_ = -1;
  Eigen::MatrixXf cached_codes_;
};

}  // namespace aepipe::stages
