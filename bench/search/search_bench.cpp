// aepipe's retrieval indexes against faiss and hnswlib on the same codes, one thread each.
//
//   aepipe_search_bench DATABASE.h5 QUERIES.h5 [--repeats R] [--no-hnsw]
//
// Both files are `codes` files: /codes float32 [N, d], /labels int32 [N] (optional). Prints
// one row per method: build seconds, queries per second (median of R interleaved runs over the
// whole query batch), recall@10 against aepipe's exact search, and precision@10 by label.
#include <faiss/IndexFlat.h>
#include <faiss/IndexIVFFlat.h>
#include <hnswlib/hnswlib.h>
#include <mpi.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "h5/check.hpp"
#include "h5/dataset.hpp"
#include "index/evaluation.hpp"
#include "index/index.hpp"
#include "nn/gemm.hpp"
#include "util/error.hpp"

namespace {

using aepipe::index::Neighbours;
using aepipe::index::RowMatrixXf;
using Clock = std::chrono::steady_clock;
constexpr Eigen::Index kK = 10;

struct Codes {
  RowMatrixXf vectors;               // [N, d]
  std::vector<std::int32_t> labels;  // [N] or empty
};

Codes read_codes(const std::string& path) {
  const auto file = aepipe::h5::File::open(path, aepipe::h5::File::Mode::kReadOnly, nullptr);
  const auto codes = aepipe::h5::Dataset::open(file, "/codes");
  const auto dims = codes.dims();
  if (dims.size() != 2) throw aepipe::Error(aepipe::cat(codes.where(), " is not [N, d]"));
  Codes result;
  result.vectors.resize(static_cast<Eigen::Index>(dims[0]), static_cast<Eigen::Index>(dims[1]));
  codes.read_rows(0, dims[0], result.vectors.data());
  if (aepipe::h5::exists(file, "/labels")) {
    const auto labels = aepipe::h5::Dataset::open(file, "/labels");
    result.labels.resize(labels.rows());
    labels.read_rows(0, labels.rows(), result.labels.data());
  }
  return result;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// One row of the table: how to search, and what was measured.
struct Method {
  std::string name;
  double build_seconds = 0.0;
  std::function<Neighbours()> search;
  std::vector<double> seconds;
  Neighbours result;
};

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

Neighbours from_faiss(Eigen::Index queries, const std::vector<faiss::Index::idx_t>& ids,
                      const std::vector<float>& distances) {
  Neighbours result;
  result.resize(queries, kK);
  std::copy(ids.begin(), ids.end(), result.ids.begin());
  std::copy(distances.begin(), distances.end(), result.distances.begin());
  return result;
}

template <class Build>
double timed(Build&& build) {
  const auto start = Clock::now();
  build();
  return seconds_since(start);
}

int run(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s DATABASE.h5 QUERIES.h5 [--repeats R] [--no-hnsw]\n", argv[0]);
    return 2;
  }
  int repeats = 3;
  bool hnsw = true;
  for (int i = 3; i < argc; ++i) {
    if (std::strcmp(argv[i], "--repeats") == 0 && i + 1 < argc) repeats = std::atoi(argv[++i]);
    if (std::strcmp(argv[i], "--no-hnsw") == 0) hnsw = false;
  }
  aepipe::nn::set_compute_threads(1, 1);
  omp_set_num_threads(1);
  const Codes database = read_codes(argv[1]), queries = read_codes(argv[2]);
  const Eigen::Index n = database.vectors.rows(), d = database.vectors.cols();
  const Eigen::Index q = queries.vectors.rows();
  std::printf("database %lld x %lld, queries %lld, k %lld, one thread, median of %d runs\n",
              static_cast<long long>(n), static_cast<long long>(d), static_cast<long long>(q),
              static_cast<long long>(kK), repeats);
  const aepipe::mpi::Communicator self(MPI_COMM_SELF);
  const float* x = database.vectors.data();
  const float* y = queries.vectors.data();
  std::vector<std::unique_ptr<Method>> methods;
  const auto add = [&](std::string name, double build, std::function<Neighbours()> search) {
    auto method = std::make_unique<Method>();
    method->name = std::move(name);
    method->build_seconds = build;
    method->search = std::move(search);
    methods.push_back(std::move(method));
  };

  // Exact.
  aepipe::index::Index flat;
  const double flat_build = timed([&] {
    flat = aepipe::index::build_index(aepipe::index::parse_index_spec("flat"), database.vectors, {},
                                      self);
  });
  add("aepipe flat", flat_build,
      [&] { return aepipe::index::search(flat, queries.vectors, {.k = kK}); });
  faiss::IndexFlatL2 faiss_flat(static_cast<int>(d));
  const double faiss_flat_build = timed([&] { faiss_flat.add(n, x); });
  add("faiss IndexFlatL2", faiss_flat_build, [&] {
    std::vector<faiss::Index::idx_t> ids(static_cast<std::size_t>(q * kK));
    std::vector<float> distances(ids.size());
    faiss_flat.search(q, y, kK, distances.data(), ids.data());
    return from_faiss(q, ids, distances);
  });

  // IVF, nlist 256.
  aepipe::index::Index ivf;
  const double ivf_build = timed([&] {
    ivf = aepipe::index::build_index(aepipe::index::parse_index_spec("ivf:256"), database.vectors,
                                     {}, self);
  });
  faiss::IndexFlatL2 quantiser(static_cast<int>(d));
  faiss::IndexIVFFlat faiss_ivf(&quantiser, static_cast<std::size_t>(d), 256);
  faiss_ivf.verbose = false;
  const double faiss_ivf_build = timed([&] {
    faiss_ivf.train(n, x);
    faiss_ivf.add(n, x);
  });
  for (Eigen::Index nprobe : {1, 2, 4, 8, 16}) {
    add("aepipe ivf:256 nprobe " + std::to_string(nprobe), ivf_build, [&, nprobe] {
      return aepipe::index::search(ivf, queries.vectors, {.k = kK, .nprobe = nprobe});
    });
    add("faiss IVFFlat 256 nprobe " + std::to_string(nprobe), faiss_ivf_build, [&, nprobe] {
      faiss_ivf.nprobe = static_cast<std::size_t>(nprobe);
      std::vector<faiss::Index::idx_t> ids(static_cast<std::size_t>(q * kK));
      std::vector<float> distances(ids.size());
      faiss_ivf.search(q, y, kK, distances.data(), ids.data());
      return from_faiss(q, ids, distances);
    });
  }

  // hnswlib, one query at a time (its API).
  hnswlib::L2Space space(static_cast<std::size_t>(d));
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> graph;
  if (hnsw) {
    const double graph_build = timed([&] {
      graph = std::make_unique<hnswlib::HierarchicalNSW<float>>(&space, static_cast<std::size_t>(n),
                                                                16, 200);
      for (Eigen::Index i = 0; i < n; ++i) graph->addPoint(x + i * d, static_cast<std::size_t>(i));
    });
    for (std::size_t ef : {16, 32, 64}) {
      add("hnswlib M16 ef " + std::to_string(ef), graph_build, [&, ef] {
        graph->setEf(ef);
        Neighbours result;
        result.resize(q, kK);
        for (Eigen::Index i = 0; i < q; ++i) {
          auto found = graph->searchKnn(y + i * d, static_cast<std::size_t>(kK));
          for (Eigen::Index j = static_cast<Eigen::Index>(found.size()) - 1; j >= 0; --j) {
            result.ids[i * kK + j] = static_cast<std::int64_t>(found.top().second);
            result.distances[i * kK + j] = found.top().first;
            found.pop();
          }
        }
        return result;
      });
    }
  }

  // Binary hashing.
  std::vector<std::unique_ptr<aepipe::index::Index>> hashes;
  for (const char* spec : {"hash:16", "hash:16:sign", "hash:30", "hash:30:sign", "hash:64",
                           "hash:64:sign", "hash:128", "hash:128:sign"}) {
    hashes.push_back(std::make_unique<aepipe::index::Index>());
    auto* hash = hashes.back().get();
    const double build = timed([&] {
      *hash = aepipe::index::build_index(aepipe::index::parse_index_spec(spec), database.vectors,
                                         {}, self);
    });
    add(std::string("aepipe ") + spec, build,
        [&, hash] { return aepipe::index::search(*hash, queries.vectors, {.k = kK}); });
  }

  for (int repeat = 0; repeat < repeats; ++repeat)
    for (auto& method : methods) {
      const auto start = Clock::now();
      method->result = method->search();
      method->seconds.push_back(seconds_since(start));
    }

  const Neighbours& exact = methods.front()->result;
  const bool labelled = !database.labels.empty() && !queries.labels.empty();
  std::printf("\n%-28s %9s %12s %10s %13s\n", "method", "build s", "queries/s", "recall@10",
              labelled ? "precision@10" : "");
  for (const auto& method : methods) {
    const double rate = static_cast<double>(q) / median(method->seconds);
    std::printf("%-28s %9.2f %12.0f %10.4f", method->name.c_str(), method->build_seconds, rate,
                aepipe::index::recall_at_k(method->result, exact, kK));
    if (labelled)
      std::printf(" %13.4f", aepipe::index::precision_at_k(method->result, database.labels,
                                                           queries.labels, kK));
    std::printf("\n");
  }
  if (labelled)
    std::printf("\nmAP@10 by label, exact L2: %.4f\n",
                aepipe::index::mean_average_precision(exact, database.labels, queries.labels, kK));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  aepipe::h5::silence_library_errors();
  int status = 1;
  try {
    status = run(argc, argv);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "aepipe_search_bench: error: %s\n", error.what());
  }
  MPI_Finalize();
  return status;
}
