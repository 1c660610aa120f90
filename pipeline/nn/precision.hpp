#pragma once
// The number format of a network's dense products (`train --precision`). fp32: float
// operands and sums. bf16: operands rounded to bfloat16 (8 significant bits), products summed
// in float; master weights, optimiser, loss and element-wise passes stay float (mixed
// precision as in PyTorch's autocast). "auto" is bf16 only where the CPU has bf16 dot
// products (AVX512_BF16 or AMX, as oneDNN reports its ISA), else fp32.
#include <string>

namespace aepipe::nn {

enum class Precision { kFp32, kBf16 };

// "fp32", "bf16" or "auto" (resolved on this CPU); anything else is a UsageError.
Precision parse_precision(const std::string& name);
const char* precision_name(Precision precision);

// The instruction set oneDNN's kernels use on this CPU ("avx2", "avx512_core_bf16", ...),
// after any cap the user set with ONEDNN_MAX_CPU_ISA / DNNL_MAX_CPU_ISA.
std::string cpu_isa_name();
// This CPU multiplies bf16 in hardware (oneDNN's ISA includes AVX512_BF16 or AMX).
bool cpu_has_native_bf16();

}  // namespace aepipe::nn
