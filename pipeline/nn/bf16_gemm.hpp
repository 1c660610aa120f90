#pragma once
// The kernels behind nn/gemm.hpp's gemm_bf16 (`--precision bf16`):
//   C = alpha * bf16(op(A)) * bf16(op(B)) + beta * C,  op(A) [m, k], op(B) [k, n], C [m, n],
// where bf16(x) rounds a float to bfloat16, to nearest with ties to even (NaN stays NaN).
//
// Two kernels give the same numbers up to the order of the float sums (a product of two bf16
// values is exact in float):
//   native    oneDNN's bf16 x bf16 -> f32 matmul; fast only where the CPU has bf16 dot
//             products (AVX512_BF16, AMX), so it is chosen only there;
//   emulated  the rounded operands widened back to float and multiplied by the float sgemm:
//             the numerics of bf16 on any CPU (to check a bf16 model's quality), slower than
//             fp32 (the rounding passes come on top).
// Both cut C into the same fixed tiles as the float kernel, so results do not depend on the
// thread count, and call `epilogue` once per finished tile.
#include <Eigen/Core>
#include <cstdint>
#include <cstring>

#include "nn/gemm.hpp"

namespace aepipe::nn {

inline std::uint16_t round_to_bf16(float value) {
  std::uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((bits >> 16) | 0x40u);
  // Round to nearest, ties to even: add just under half an ulp of bf16, plus the kept lsb.
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<std::uint16_t>(bits >> 16);
}

inline float bf16_to_float(std::uint16_t value) {
  const std::uint32_t bits = static_cast<std::uint32_t>(value) << 16;
  float result;
  std::memcpy(&result, &bits, sizeof result);
  return result;
}

enum class Bf16Kernel { kNative, kEmulated };

// oneDNN can make a bf16 matmul on this CPU (its ISA is AVX-512 or later; on AVX-512 without
// AVX512_BF16 oneDNN converts in software). Probed once.
bool bf16_matmul_available();
// The kernel gemm_bf16 uses: native where the CPU has bf16 dot products and oneDNN a bf16
// matmul, else emulated.
Bf16Kernel bf16_kernel();
// Tests only: compare the kernels on one machine. Throws if kNative is not available.
void set_bf16_kernel(Bf16Kernel kernel);
const char* bf16_kernel_name(Bf16Kernel kernel);

}  // namespace aepipe::nn
