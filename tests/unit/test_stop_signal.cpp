// Stop signals during computation (util/stop_signal.hpp). Its own executable: installing the
// handlers is process-wide and irreversible, and the first test needs an OpenMP pool created
// before the install - as in `aepipe run`, where train is not the first stage.
//
// The regression: oneDNN's JIT sgemm runs with the stack pointer in a heap buffer when k is
// large, so a signal handled on a computing thread wrote its frame into the heap. With the
// old handler (SA_RESTART handler, signals unblocked everywhere) the storm below aborted
// with "corrupted size vs. prev_size" or "corrupted double-linked list" within 0.1 s.
#include <gtest/gtest.h>
#include <omp.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>
#include <vector>

#include "nn/gemm.hpp"
#include "util/stop_signal.hpp"

namespace aepipe {
namespace {

bool this_thread_blocks_stop_signals() {
  sigset_t mask;
  pthread_sigmask(SIG_BLOCK, nullptr, &mask);
  return sigismember(&mask, SIGUSR1) == 1 && sigismember(&mask, SIGTERM) == 1;
}

// How many of `threads` OpenMP threads block the stop signals.
int pool_threads_blocking(int threads) {
  int blocking = 0;
#pragma omp parallel num_threads(threads) reduction(+ : blocking)
  blocking += this_thread_blocks_stop_signals() ? 1 : 0;
  return blocking;
}

Eigen::MatrixXf random_matrix(Eigen::Index rows, Eigen::Index cols, unsigned seed) {
  std::mt19937 generator(seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  Eigen::MatrixXf matrix(rows, cols);
  for (auto& value : matrix.reshaped()) value = uniform(generator);
  return matrix;
}

TEST(StopSignals, AStormDuringLargeGemmsLeavesTheHeapIntactAndRequestsAStop) {
  constexpr int kThreads = 2;
  omp_set_num_threads(kThreads);
  // The pool exists before the install, its threads with the signals unblocked.
  ASSERT_EQ(pool_threads_blocking(kThreads), 0);
  install_stop_handlers();
  clear_stop();
  EXPECT_TRUE(this_thread_blocks_stop_signals());

  // A decoder's backward product W^T delta with k = 784 inputs: above oneDNN's stack
  // workspace limit (k > 252 on AVX2, k > 84 on AVX-512), so its kernel moves rsp into the
  // heap. Two column tiles of 256, so both threads compute.
  const Eigen::MatrixXf w = random_matrix(784, 64, 1);
  const Eigen::MatrixXf delta = random_matrix(784, 300, 2);
  const Eigen::MatrixXf expected = w.transpose() * delta;
  Eigen::MatrixXf product(64, 300);

  std::atomic<bool> done{false};
  std::atomic<long> sent{0};
  const pid_t self = ::getpid();
  // Process-directed, as mpirun and Slurm send them.
  std::thread storm([&] {
    while (!done.load()) {
      ::kill(self, sent.load() % 8 == 7 ? SIGTERM : SIGUSR1);
      sent.fetch_add(1);
      ::usleep(20);
    }
  });
  const auto start = std::chrono::steady_clock::now();
  long products = 0;
  float largest_error = 0;
  // At least 1.5 s and 2000 signals (the old code broke within 0.1 s), at most 20 s on a
  // loaded machine.
  const auto elapsed = [&] { return std::chrono::steady_clock::now() - start; };
  while ((elapsed() < std::chrono::milliseconds(1500) || sent.load() < 2000) &&
         elapsed() < std::chrono::seconds(20)) {
    nn::gemm<float>(1.0f, w, nn::Transpose::kYes, delta, nn::Transpose::kNo, 0.0f, product);
    std::vector<char> churn(static_cast<std::size_t>(1000 + products % 7000));  // heap traffic
    churn.back() = 1;
    largest_error = std::max(largest_error, (product - expected).cwiseAbs().maxCoeff());
    ++products;
  }
  done.store(true);
  storm.join();

  EXPECT_GT(sent.load(), 200);
  EXPECT_GT(products, 10);
  EXPECT_LT(largest_error, 1e-3f);
  EXPECT_TRUE(stop_requested());
  // Every pool thread that ran oneDNN blocked the signals before its first kernel.
  EXPECT_EQ(pool_threads_blocking(kThreads), kThreads);
  clear_stop();
}

TEST(StopSignals, ASignalBecomesARequestThatAStopKeepsAcrossInstalls) {
  install_stop_handlers();
  clear_stop();
  ASSERT_EQ(::kill(::getpid(), SIGUSR1), 0);
  // Taken asynchronously by the watcher thread.
  for (int wait = 0; wait < 2000 && !stop_requested(); ++wait) ::usleep(1000);
  EXPECT_TRUE(stop_requested());
  install_stop_handlers();  // a stage after a job runner: the request is kept
  EXPECT_TRUE(stop_requested());
  clear_stop();
  ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);  // not the default action: the test goes on
  for (int wait = 0; wait < 2000 && !stop_requested(); ++wait) ::usleep(1000);
  EXPECT_TRUE(stop_requested());
  clear_stop();
}

}  // namespace
}  // namespace aepipe
