#include "mpi/node_shared_step.hpp"

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string_view>

#include "mpi/agreement.hpp"
#include "mpi/check.hpp"
#include "util/error.hpp"
#include "util/parallel_ranges.hpp"
#include "util/report.hpp"

namespace aepipe::mpi {
namespace {

// Elements summed at a time: the running sum (16 KiB) stays in L1 while each rank's terms
// stream past it.
constexpr std::size_t kSumBlock = 4096;

// sum[i] += term[i], i < n (distinct buffers: vectorised).
void add_block(float* __restrict sum, const float* __restrict term, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) sum[i] += term[i];
}

// AEPIPE_SHARED_STEP=0 (or "off", "no", "false") keeps the message rings within a node.
bool enabled_by_environment() {
  const char* text = std::getenv("AEPIPE_SHARED_STEP");
  if (text == nullptr) return true;
  const std::string_view value(text);
  return !(value == "0" || value == "off" || value == "no" || value == "false");
}

// Where Open MPI 4.1's shared windows keep their backing files: the MCA variable
// osc_sm_backing_directory (mpirun --mca passes it to the ranks as OMPI_MCA_...), else
// /dev/shm where this process may write there, else Open MPI's session directory, which lies
// in its temporary directory (MCA orte_tmpdir_base, else TMPDIR, TEMP, TMP, else /tmp).
std::string backing_directory() {
  const char* text = std::getenv("OMPI_MCA_osc_sm_backing_directory");
  if (text != nullptr && *text != '\0') return text;
  if (access("/dev/shm", W_OK) == 0) return "/dev/shm";  // the test Open MPI makes
  for (const char* name : {"OMPI_MCA_orte_tmpdir_base", "TMPDIR", "TEMP", "TMP"}) {
    text = std::getenv(name);
    if (text != nullptr && *text != '\0') return text;
  }
  return "/tmp";
}

// Room for the windows' backing files in `directory`: free bytes for unprivileged users, or
// a problem that leaves none (a missing or read-only directory: Open MPI 4.1 then fails on
// rank 0 alone, and the other ranks wait in the allocation for ever).
struct Room {
  std::uint64_t free = 0;
  std::string problem;  // empty: `free` holds
};

Room room_in(const std::string& directory) {
  struct stat status {};
  if (stat(directory.c_str(), &status) != 0) return {0, std::strerror(errno)};
  if (!S_ISDIR(status.st_mode)) return {0, "not a directory"};
  struct statvfs info {};
  if (access(directory.c_str(), W_OK | X_OK) != 0 || statvfs(directory.c_str(), &info) != 0)
    return {0, std::strerror(errno)};
  if ((info.f_flag & ST_RDONLY) != 0) return {0, "read-only file system"};
  return {static_cast<std::uint64_t>(info.f_bavail) * info.f_frsize, {}};
}

// A window of `bytes` on this rank (0 allowed), floats, shared with the ranks of `comm`.
MPI_Win allocate(const Communicator& comm, std::size_t bytes, const char* what) {
  void* base = nullptr;
  MPI_Win window = MPI_WIN_NULL;
  try {
    check(MPI_Win_allocate_shared(static_cast<MPI_Aint>(bytes), sizeof(float), MPI_INFO_NULL,
                                  comm.get(), &base, &window),
          "MPI_Win_allocate_shared");
  } catch (const Error& error) {
    throw Error(cat("could not allocate ", bytes, " bytes of node-shared memory for the ", what,
                    " (", error.what(),
                    "); set AEPIPE_SHARED_STEP=0 to exchange them as messages instead"));
  }
  return window;
}

// Rank `owner`'s memory in `window`, as this rank sees it.
float* base_of(MPI_Win window, int owner) {
  MPI_Aint size = 0;
  int unit = 0;
  void* base = nullptr;
  check(MPI_Win_shared_query(window, owner, &size, &unit, &base), "MPI_Win_shared_query");
  return static_cast<float*>(base);
}

}  // namespace

std::unique_ptr<NodeSharedStep> NodeSharedStep::create(const Communicator& comm,
                                                       const Shards& shards,
                                                       std::span<const float> initial) {
  if (comm.size() == 1) return nullptr;
  if (initial.size() != shards.size() || shards.ranks() != comm.size())
    throw Error(cat("internal: ", initial.size(), " parameters for shards of ", shards.size(),
                    " over ", shards.ranks(), " ranks (", comm.size(), " ranks)"));
  // Every rank must take the same path: one that disables it (its environment) disables it
  // for all. ranks_on_node() is collective: called on every rank whatever the environment.
  const bool one_node = comm.ranks_on_node() == comm.size();
  const int wanted = one_node && enabled_by_environment() && shards.size() > 0 ? 1 : 0;
  if (comm.allreduce_min(wanted) == 0) return nullptr;
  // A backing file system too small for the windows (a container's 64 MB /dev/shm) does not
  // fail cleanly: with Open MPI 4.1 a rank whose allocation fails leaves the others waiting
  // inside MPI_Win_allocate_shared, and a page that does not fit kills its rank with SIGBUS
  // on first touch. So the room is checked first (all ranks' figures, and every rank's own
  // view of it, agreed on), and the rings take over where it is short.
  const std::size_t bytes = shards.size() * sizeof(float);
  const std::uint64_t needed =
      (static_cast<std::uint64_t>(comm.size()) + 1) * (bytes + (std::uint64_t{1} << 20));
  const std::string directory = backing_directory();
  const Room room = room_in(directory);
  if (comm.allreduce_min(room.free >= needed ? 1 : 0) == 0) {
    const std::string instead =
        "exchanging the step as MPI messages instead (slower; set AEPIPE_SHARED_STEP=0 to "
        "choose that without this warning)";
    if (comm.is_root() && !room.problem.empty())
      print_warning(
          cat(directory, " (osc_sm_backing_directory, where the ranks' shared-memory ",
              "step would keep its windows) cannot hold files: ", room.problem, "; ", instead),
          comm.rank());
    else if (comm.is_root())
      print_warning(cat(directory, " has ", room.free >> 20, " MiB free",
                        room.free >= needed ? " here, but not where another rank looks" : "",
                        ", and the ranks' shared-memory step needs ", needed >> 20, " MiB: ",
                        instead, "; give ", directory, " more room, e.g. docker --shm-size"),
                    comm.rank());
    return nullptr;
  }
  std::unique_ptr<NodeSharedStep> step(new NodeSharedStep(comm, shards));
  // One copy of the parameters on the node (rank 0 allocates it; pages are placed by the
  // first touch below, each rank's slice by its owner), and a gradient buffer per rank.
  bool parameters_allocated = false;  // on every rank: collectively() agreed on it
  try {
    collectively(comm, [&] {
      step->parameter_window_ = allocate(comm, comm.is_root() ? bytes : 0, "parameters");
    });
    parameters_allocated = true;
    collectively(comm, [&] { step->gradient_window_ = allocate(comm, bytes, "gradients"); });
  } catch (...) {
    // Every rank is here together (agreed failure). The parameter window exists on all of
    // them if its allocation was agreed: free it together. A window that some rank lacks
    // (the failed allocation's) cannot be freed collectively: MPI_Finalize takes it.
    if (parameters_allocated) MPI_Win_free(&step->parameter_window_);
    step->parameter_window_ = step->gradient_window_ = MPI_WIN_NULL;
    throw;
  }
  check(MPI_Win_lock_all(MPI_MODE_NOCHECK, step->parameter_window_), "MPI_Win_lock_all");
  check(MPI_Win_lock_all(MPI_MODE_NOCHECK, step->gradient_window_), "MPI_Win_lock_all");
  step->parameters_ = std::span(base_of(step->parameter_window_, 0), shards.size());
  for (int r = 0; r < comm.size(); ++r)
    step->gradients_.emplace_back(base_of(step->gradient_window_, r), shards.size());
  const int rank = comm.rank();
  std::memcpy(step->parameters_.data() + shards.begin(rank), initial.data() + shards.begin(rank),
              shards.length(rank) * sizeof(float));
  std::fill(step->gradient().begin(), step->gradient().end(), 0.0f);
  step->parameters_ready();
  return step;
}

NodeSharedStep::NodeSharedStep(const Communicator& comm, const Shards& shards)
    : comm_(comm), shards_(shards), exceptions_at_start_(std::uncaught_exceptions()) {}

NodeSharedStep::~NodeSharedStep() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return;
  // Freeing is collective. While an exception unwinds, this rank may be failing alone (a read
  // error on its rows) on its way to MPI_Abort, and the others wait in the step: it must not
  // wait for them here. The windows then go with the job (MPI_Abort, MPI_Finalize).
  if (std::uncaught_exceptions() > exceptions_at_start_) return;
  // No-throw: results ignored. Every rank destroys its object at the same point of the
  // trainer (the end of a phase or the stop signal's checkpoint).
  for (MPI_Win* window : {&gradient_window_, &parameter_window_}) {
    if (*window == MPI_WIN_NULL) continue;
    MPI_Win_unlock_all(*window);
    MPI_Win_free(window);
  }
}

void NodeSharedStep::synchronise() const {
  // The MPI-3 idiom for shared windows under a lock_all epoch: make this rank's stores
  // visible, meet, then see the others' stores.
  check(MPI_Win_sync(parameter_window_), "MPI_Win_sync");
  check(MPI_Win_sync(gradient_window_), "MPI_Win_sync");
  comm_.barrier();
  check(MPI_Win_sync(parameter_window_), "MPI_Win_sync");
  check(MPI_Win_sync(gradient_window_), "MPI_Win_sync");
}

void NodeSharedStep::gradients_ready() const {
  synchronise();
}

void NodeSharedStep::parameters_ready() const {
  synchronise();
}

void NodeSharedStep::sum_own_slice(std::span<float> out) const {
  if (out.size() != shards_.size())
    throw Error(cat("internal: summing into ", out.size(), " values, not ", shards_.size()));
  const std::size_t first = shards_.begin(comm_.rank());
  for_each_range(shards_.length(comm_.rank()), kSumBlock, [&](std::size_t begin, std::size_t end) {
    for (std::size_t block = begin; block < end; block += kSumBlock) {
      const std::size_t from = first + block, to = first + std::min(end, block + kSumBlock);
      std::memcpy(out.data() + from, gradients_[0].data() + from, (to - from) * sizeof(float));
      for (std::size_t r = 1; r < gradients_.size(); ++r)
        add_block(out.data() + from, gradients_[r].data() + from, to - from);
    }
  });
}

}  // namespace aepipe::mpi
