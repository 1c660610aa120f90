// gemm_peak: single-thread fp32 GEMM speed of oneDNN's dnnl_sgemm, the kernel aepipe's
// training runs on (pipeline/nn/gemm.cpp), in GFLOP/s (2 flops per multiply-add).
//
// Measures, each as the median of REPEATS timings of a loop lasting at least ~0.2 s, timed
// with the process's CPU time (CLOCK_PROCESS_CPUTIME_ID: on a shared machine, time spent
// descheduled does not count; wall-clock figures are printed beside them):
//   - 2048 x 2048 x 2048, the classic peak;
//   - the first layer of the 784-1000-500-250-30 autoencoder at batch 256 and 32
//     (M x K x N = B x 784 x 1000, row-major, no transposes);
//   - "step B": every GEMM of one training step of the mirrored 784-1000-500-250-30-...-784
//     network at batch B (forward, gradient of the inputs of every layer but the first,
//     gradient of the weights) with the transposes a training step uses: the bound a
//     trainer built on this kernel could reach if nothing but its GEMMs took time.
//
// Output: one line per shape, "name M K N gflops_cpu gflops_wall" (median), plus a header of
// lines starting with '#' naming oneDNN's version and the ISA its kernels dispatch to.
// Runs in about 10-20 s. Build (bench/train_throughput.sh does this; no CMake, no faiss):
//   g++ -O2 -std=c++17 bench/gemm_peak.cpp -o gemm_peak -ldnnl
// Usage: OMP_NUM_THREADS=1 gemm_peak [REPEATS=7] [extra batch sizes...]
#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <string>
#include <vector>

namespace {

double now(clockid_t clock) {
  timespec t{};
  clock_gettime(clock, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

const char* isa_name(dnnl_cpu_isa_t isa) {
  switch (isa) {
    case dnnl_cpu_isa_sse41:
      return "sse41";
    case dnnl_cpu_isa_avx:
      return "avx";
    case dnnl_cpu_isa_avx2:
      return "avx2";
    case dnnl_cpu_isa_avx2_vnni:
      return "avx2_vnni";
    case dnnl_cpu_isa_avx512_mic:
      return "avx512_mic";
    case dnnl_cpu_isa_avx512_mic_4ops:
      return "avx512_mic_4ops";
    case dnnl_cpu_isa_avx512_core:
      return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni:
      return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16:
      return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx:
      return "avx512_core_amx";
    default:
      return "other";
  }
}

// One row-major C[M,N] = op(A) op(B) call.
struct Gemm {
  char ta, tb;
  long m, n, k;
};

struct Buffers {
  std::vector<float> a, b, c;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Times a list of GEMMs run back to back; returns {median GFLOP/s by CPU time, by wall time}.
std::pair<double, double> measure(const std::vector<Gemm>& gemms, int repeats) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> uniform(-1.f, 1.f);
  std::vector<Buffers> buffers(gemms.size());
  double flops = 0;
  for (size_t i = 0; i < gemms.size(); ++i) {
    const Gemm& g = gemms[i];
    buffers[i].a.resize(static_cast<size_t>(g.m * g.k));
    buffers[i].b.resize(static_cast<size_t>(g.k * g.n));
    buffers[i].c.assign(static_cast<size_t>(g.m * g.n), 0.f);
    for (float& x : buffers[i].a) x = uniform(rng);
    for (float& x : buffers[i].b) x = uniform(rng);
    flops += 2.0 * static_cast<double>(g.m) * static_cast<double>(g.n) * static_cast<double>(g.k);
  }
  auto run_once = [&] {
    for (size_t i = 0; i < gemms.size(); ++i) {
      const Gemm& g = gemms[i];
      const long lda = g.ta == 'N' ? g.k : g.m;
      const long ldb = g.tb == 'N' ? g.n : g.k;
      if (dnnl_sgemm(g.ta, g.tb, g.m, g.n, g.k, 1.f, buffers[i].a.data(), lda, buffers[i].b.data(),
                     ldb, 0.f, buffers[i].c.data(), g.n) != dnnl_success) {
        std::fprintf(stderr, "gemm_peak: dnnl_sgemm failed\n");
        std::exit(1);
      }
    }
  };
  // Warm-up (JIT code generation, page faults), then calibrate the loop to ~0.2 s.
  run_once();
  const double t0 = now(CLOCK_PROCESS_CPUTIME_ID);
  run_once();
  const double once = std::max(1e-6, now(CLOCK_PROCESS_CPUTIME_ID) - t0);
  const int iterations = std::max(1, static_cast<int>(0.2 / once));
  std::vector<double> cpu, wall;
  for (int r = 0; r < repeats; ++r) {
    const double c0 = now(CLOCK_PROCESS_CPUTIME_ID), w0 = now(CLOCK_MONOTONIC);
    for (int it = 0; it < iterations; ++it) run_once();
    const double c1 = now(CLOCK_PROCESS_CPUTIME_ID), w1 = now(CLOCK_MONOTONIC);
    cpu.push_back(flops * iterations / (c1 - c0) * 1e-9);
    wall.push_back(flops * iterations / (w1 - w0) * 1e-9);
  }
  return {median(cpu), median(wall)};
}

// Every GEMM of one training step of the mirrored autoencoder at batch B, row-major with
// activations [B, features] and weights W[out, in] (the layout aepipe's model files use):
//   forward      Y[B,out]  = X[B,in] W^T          (N,T)  M=B   K=in  N=out
//   input grad   dX[B,in]  = dY[B,out] W           (N,N)  M=B   K=out N=in   (not layer 0)
//   weight grad  dW[out,in] = dY^T X               (T,N)  M=out K=B   N=in
std::vector<Gemm> step_gemms(long batch, const std::vector<long>& widths) {
  std::vector<long> layers = widths;  // 784 1000 500 250 30 250 500 1000 784
  for (size_t i = widths.size() - 1; i-- > 0;) layers.push_back(widths[i]);
  std::vector<Gemm> gemms;
  for (size_t l = 0; l + 1 < layers.size(); ++l) {
    const long in = layers[l], out = layers[l + 1];
    gemms.push_back({'N', 'T', batch, out, in});
    if (l > 0) gemms.push_back({'N', 'N', batch, in, out});
    gemms.push_back({'T', 'N', out, in, batch});
  }
  return gemms;
}

}  // namespace

int main(int argc, char** argv) {
  const int repeats = argc > 1 ? std::max(1, std::atoi(argv[1])) : 7;
  std::vector<long> batches = {256, 32};
  for (int i = 2; i < argc; ++i) batches.push_back(std::atol(argv[i]));
  const std::vector<long> widths = {784, 1000, 500, 250, 30};

  const dnnl_version_t* version = dnnl_version();
  std::printf("# oneDNN %d.%d.%d (%s), ISA %s, OMP_NUM_THREADS=%s\n", version->major,
              version->minor, version->patch, version->hash, isa_name(dnnl_get_effective_cpu_isa()),
              std::getenv("OMP_NUM_THREADS") ? std::getenv("OMP_NUM_THREADS") : "(unset)");
  std::printf("# name M K N gflops_cpu gflops_wall (median of %d)\n", repeats);
  auto report = [&](const std::string& name, const std::vector<Gemm>& gemms, long m, long k,
                    long n) {
    const auto [cpu, wall] = measure(gemms, repeats);
    std::printf("%s %ld %ld %ld %.1f %.1f\n", name.c_str(), m, k, n, cpu, wall);
    std::fflush(stdout);
  };
  report("square2048", {{'N', 'N', 2048, 2048, 2048}}, 2048, 2048, 2048);
  for (long b : batches) {
    report("layer1_b" + std::to_string(b), {{'N', 'T', b, 1000, 784}}, b, 784, 1000);
    const auto gemms = step_gemms(b, widths);
    double flops = 0;
    for (const Gemm& g : gemms) flops += 2.0 * g.m * g.n * g.k;
    std::printf("# step_b%ld: %zu GEMMs, %.3f MFLOP per sample\n", b, gemms.size(),
                flops / static_cast<double>(b) * 1e-6);
    report("step_b" + std::to_string(b), gemms, b, 0, 0);
  }
  return 0;
}
